// Errors. Bad input (files, options, data) throws InputError: the CLI prints its one-line
// message and exits with status 2. Anything else that escapes is a bug (exit 1).
#pragma once
#include <stdexcept>
#include <string>

namespace ll {

class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& message) : std::runtime_error(message) {}
};

// "<where>: <what>" — where is a file path, optionally with a field ("model.safetensors: tensor 'x'").
[[noreturn]] void fail_input(const std::string& where, const std::string& what);

// "<where>: <field>: expected <expected>, found <found>"
[[noreturn]] void fail_expected(const std::string& where, const std::string& field,
                                const std::string& expected, const std::string& found);

// Internal invariant; a violation is a bug in longlora, not in the input.
#define LL_CHECK(cond)                                                                  \
  do {                                                                                  \
    if (!(cond)) ::ll::fail_internal(__FILE__, __LINE__, #cond);                        \
  } while (0)
[[noreturn]] void fail_internal(const char* file, int line, const char* cond);

}  // namespace ll
