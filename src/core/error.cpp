#include "core/error.h"

namespace ll {

void fail_input(const std::string& where, const std::string& what) {
  throw InputError(where.empty() ? what : where + ": " + what);
}

void fail_expected(const std::string& where, const std::string& field, const std::string& expected,
                   const std::string& found) {
  fail_input(where, field + ": expected " + expected + ", found " + found);
}

void fail_internal(const char* file, int line, const char* cond) {
  throw std::logic_error(std::string("internal error at ") + file + ":" + std::to_string(line) +
                         ": check failed: " + cond);
}

}  // namespace ll
