// UTF-8 validity exactly as SentencePiece judges it.
#include <gtest/gtest.h>

#include "text/utf8.h"
#include "text/vocab.h"

namespace ll::test {
namespace {

TEST(Utf8, ValidCharLength) {
  const std::pair<std::string, size_t> cases[] = {
      {"", 0},
      {"a", 1},
      {std::string(1, '\0'), 1},
      {"\x7F", 1},
      {"\xC2\x80", 2},          // U+0080, the first 2-byte character
      {"\xDF\xBF", 2},          // U+07FF
      {"\xE0\xA0\x80", 3},      // U+0800
      {"\xEF\xBF\xBD", 3},      // U+FFFD itself is valid
      {"\xED\x9F\xBF", 3},      // U+D7FF, just below the surrogates
      {"\xEE\x80\x80", 3},      // U+E000, just above them
      {"\xF0\x90\x80\x80", 4},  // U+10000
      {"\xF4\x8F\xBF\xBF", 4},  // U+10FFFF, the last code point
      {"\xC3\xA9xyz", 2},       // only the first character counts
      {"\x80", 0},              // a continuation byte cannot lead
      {"\xC0\x80", 0},          // overlong NUL
      {"\xC1\xBF", 0},          // overlong U+007F
      {"\xE0\x9F\xBF", 0},      // overlong U+07FF
      {"\xF0\x8F\xBF\xBF", 0},  // overlong U+FFFF
      {"\xED\xA0\x80", 0},      // U+D800, a surrogate
      {"\xED\xBF\xBF", 0},      // U+DFFF
      {"\xF4\x90\x80\x80", 0},  // U+110000
      {"\xF8\x88\x80\x80\x80", 0},
      {"\xFF", 0},
      {"\xC3", 0},              // cut short
      {"\xE4\xB8", 0},
      {"\xC3\x41", 0},          // not followed by a continuation byte
  };
  for (const auto& [bytes, length] : cases)
    EXPECT_EQ(utf8::valid_char_length(bytes), length) << ::testing::PrintToString(bytes);
}

TEST(Utf8, UnfinishedChar) {
  EXPECT_TRUE(utf8::is_unfinished_char("\xC3"));
  EXPECT_TRUE(utf8::is_unfinished_char("\xE4\xB8"));
  EXPECT_TRUE(utf8::is_unfinished_char("\xF0\x9F\x98"));
  EXPECT_FALSE(utf8::is_unfinished_char(""));
  EXPECT_FALSE(utf8::is_unfinished_char("a"));
  EXPECT_FALSE(utf8::is_unfinished_char("\x80"));          // cannot lead
  EXPECT_FALSE(utf8::is_unfinished_char("\xE4\x41"));      // broken already
  EXPECT_FALSE(utf8::is_unfinished_char("\xF0\x9F\x98\x80"));  // complete
  EXPECT_FALSE(utf8::is_unfinished_char("\xFF"));
}

TEST(Utf8, BytePieces) {
  EXPECT_EQ(byte_piece(0), "<0x00>");
  EXPECT_EQ(byte_piece(0x0A), "<0x0A>");
  EXPECT_EQ(byte_piece(0xFF), "<0xFF>");
  for (int b = 0; b < 256; ++b) EXPECT_EQ(parse_byte_piece(byte_piece(static_cast<uint8_t>(b))), b);
  for (const char* bad : {"<0x0a>", "<0xG0>", "<0x0A", "0x0A>", "<0x0AA>", "<1x0A>", ""})
    EXPECT_FALSE(parse_byte_piece(bad).has_value()) << bad;
}

}  // namespace
}  // namespace ll::test
