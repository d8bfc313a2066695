// A small declarative flag parser for the subcommands. Each command declares its flags with
// a default and a help line; parse() rejects unknown flags, missing values and malformed
// numbers with an InputError (exit 2) that names the flag.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace ll::cli {

class Args {
 public:
  explicit Args(std::string command, std::string summary);

  // Declares "--name VALUE" (default "" means unset) or a boolean "--name".
  Args& option(const std::string& name, const std::string& default_value, const std::string& help,
               const std::string& value_name = "V");
  Args& flag(const std::string& name, const std::string& help);
  // Short alias, e.g. alias("-n", "--max-tokens").
  Args& alias(const std::string& short_name, const std::string& name);

  // Returns false when --help was given (help already printed).
  bool parse(int argc, char** argv);

  bool has(const std::string& name) const;  // given on the command line (or non-empty default)
  bool given(const std::string& name) const;  // given on the command line
  std::string str(const std::string& name) const;
  std::string required(const std::string& name) const;  // error when missing
  long long integer(const std::string& name) const;
  double number(const std::string& name) const;
  bool enabled(const std::string& name) const;  // boolean flags
  std::vector<long long> integer_list(const std::string& name) const;  // "1,2,3"
  std::vector<std::string> string_list(const std::string& name) const;  // "a,b"; "" -> {}

  std::string help() const;

 private:
  struct Spec {
    std::string default_value, help, value_name;
    bool is_flag = false;
  };
  const Spec& spec(const std::string& name) const;
  std::string command_, summary_;
  std::vector<std::string> order_;
  std::map<std::string, Spec> specs_;
  std::map<std::string, std::string> aliases_;
  std::map<std::string, std::string> values_;
};

}  // namespace ll::cli
