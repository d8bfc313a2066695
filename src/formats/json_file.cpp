#include "formats/json_file.h"

#include "core/error.h"
#include "core/mapped_file.h"

namespace ll {

namespace {

// e.what() is "[json.exception.parse_error.101] parse error at line L, column C: ..."; the part
// after the bracket is the readable one.
std::string readable(const nlohmann::json::exception& e) {
  std::string what = e.what();
  const size_t bracket = what.find("] ");
  return bracket == std::string::npos ? what : what.substr(bracket + 2);
}

}  // namespace

nlohmann::json parse_json(std::string_view text, const std::string& where) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    fail_input(where, "malformed JSON (byte " + std::to_string(e.byte) + "): " + readable(e));
  } catch (const nlohmann::json::exception& e) {
    // out_of_range.406: a number beyond a double's range, "1e400".
    fail_input(where, "malformed JSON: " + readable(e));
  }
}

nlohmann::json read_json_file(const std::string& path) { return parse_json(read_text_file(path), path); }

}  // namespace ll
