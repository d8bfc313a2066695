#include "text/utf8.h"

#include <cstdint>

namespace ll::utf8 {
namespace {

bool is_continuation(uint8_t b) { return (b & 0xC0) == 0x80; }

// Length announced by a lead byte: 2, 3 or 4, or 0 for ASCII and bytes that cannot lead.
size_t announced_length(uint8_t lead) {
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 0;
}

}  // namespace

size_t valid_char_length(std::string_view s) {
  if (s.empty()) return 0;
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  if (byte(0) < 0x80) return 1;
  const size_t length = announced_length(byte(0));
  if (length == 0 || s.size() < length) return 0;
  // The code point: the lead byte's payload bits, then 6 bits from each continuation byte.
  uint32_t code_point = byte(0) & (0x7F >> length);
  for (size_t i = 1; i < length; ++i) {
    if (!is_continuation(byte(i))) return 0;
    code_point = (code_point << 6) | (byte(i) & 0x3F);
  }
  static constexpr uint32_t kSmallestOfLength[5] = {0, 0, 0x80, 0x800, 0x10000};
  const bool shortest_form = code_point >= kSmallestOfLength[length];
  const bool is_scalar_value = code_point < 0xD800 || (code_point >= 0xE000 && code_point <= 0x10FFFF);
  return shortest_form && is_scalar_value ? length : 0;
}

bool is_unfinished_char(std::string_view s) {
  if (s.empty()) return false;
  const size_t length = announced_length(static_cast<uint8_t>(s[0]));
  if (s.size() >= length) return false;
  for (size_t i = 1; i < s.size(); ++i)
    if (!is_continuation(static_cast<uint8_t>(s[i]))) return false;
  return true;
}

}  // namespace ll::utf8
