#include "text/byte_level.h"

#include <array>

#include "text/utf8.h"

namespace ll::byte_level {
namespace {

// bytes_to_unicode() of GPT-2's encoder.py: printable bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') map
// to themselves, the rest in increasing order to 256, 257, ...
struct Alphabet {
  std::array<uint32_t, 256> char_of_byte{};
  std::array<int16_t, 324> byte_of_char{};  // code points below 256 + 68; -1: not in the alphabet

  Alphabet() {
    byte_of_char.fill(-1);
    const auto printable = [](int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE; };
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      char_of_byte[b] = printable(b) ? static_cast<uint32_t>(b) : next++;
      byte_of_char[char_of_byte[b]] = static_cast<int16_t>(b);
    }
  }
};

const Alphabet& alphabet() {
  static const Alphabet instance;
  return instance;
}

}  // namespace

void append_encoded(std::string& out, std::string_view bytes) {
  const Alphabet& a = alphabet();
  for (char byte : bytes) utf8::append_code_point(out, a.char_of_byte[static_cast<uint8_t>(byte)]);
}

std::optional<std::string> decode(std::string_view token) {
  const Alphabet& a = alphabet();
  std::string bytes;
  while (!token.empty()) {
    const size_t length = utf8::valid_char_length(token);
    if (length == 0) return std::nullopt;
    const uint32_t cp = utf8::code_point(token.substr(0, length));
    if (cp >= a.byte_of_char.size() || a.byte_of_char[cp] < 0) return std::nullopt;
    bytes += static_cast<char>(a.byte_of_char[cp]);
    token.remove_prefix(length);
  }
  return bytes;
}

}  // namespace ll::byte_level
