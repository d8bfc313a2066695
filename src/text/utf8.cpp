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

namespace {

// Length of the longest prefix of `s` that starts some well-formed character: the lead byte and
// the continuation bytes that are still allowed after it (so E0 80 is only 1: E0 needs A0..BF).
size_t maximal_subpart_length(std::string_view s) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  const uint8_t lead = byte(0);
  size_t length = 0;
  uint8_t low = 0x80, high = 0xBF;  // the allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) length = 2;
  else if (lead >= 0xE0 && lead <= 0xEF) length = 3;
  else if (lead >= 0xF0 && lead <= 0xF4) length = 4;
  else return 1;
  if (lead == 0xE0) low = 0xA0;
  if (lead == 0xED) high = 0x9F;
  if (lead == 0xF0) low = 0x90;
  if (lead == 0xF4) high = 0x8F;
  size_t i = 1;
  for (; i < length && i < s.size(); ++i) {
    const uint8_t b = byte(i);
    if (i == 1 ? (b < low || b > high) : !is_continuation(b)) break;
  }
  return i;
}

}  // namespace

void append_lossy(std::string& out, std::string_view bytes) {
  while (!bytes.empty()) {
    const size_t length = valid_char_length(bytes);
    if (length > 0) {
      out.append(bytes.substr(0, length));
      bytes.remove_prefix(length);
    } else {
      out.append(kReplacement);
      bytes.remove_prefix(maximal_subpart_length(bytes));
    }
  }
}

bool is_valid(std::string_view s) {
  while (!s.empty()) {
    const size_t length = valid_char_length(s);
    if (length == 0) return false;
    s.remove_prefix(length);
  }
  return true;
}

uint32_t code_point(std::string_view c) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(c[i]); };
  if (c.size() == 1) return byte(0);
  uint32_t value = byte(0) & (0x7F >> c.size());
  for (size_t i = 1; i < c.size(); ++i) value = (value << 6) | (byte(i) & 0x3F);
  return value;
}

void append_code_point(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace ll::utf8
