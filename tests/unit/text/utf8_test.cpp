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

// Python's bytes.decode("utf-8", errors="replace") and Rust's from_utf8_lossy: one U+FFFD per
// maximal subpart (the expectations are Python's output).
TEST(Utf8, AppendLossyReplacesMaximalSubparts) {
  const std::string r(utf8::kReplacement);
  const std::pair<std::string, std::string> cases[] = {
      {"\xE2\x82", r},
      {"\xE2\x82" "A", r + "A"},
      {"\xE0\x80", r + r},              // E0 must be followed by A0..BF
      {"\xF0\x9F\x98", r},
      {"\xC0\xAF", r + r},              // C0 never leads
      {"\xED\xA0\x80", r + r + r},      // a surrogate: ED allows 80..9F only
      {"\xF4\x90\x80\x80", r + r + r + r},
      {"\xFF\xFE", r + r},
      {"a\x80" "b", "a" + r + "b"},
      {"\xF0\x9F\x98\x80\xE2", "\xF0\x9F\x98\x80" + r},
      {"plain \xC3\xA9", "plain \xC3\xA9"},
  };
  for (const auto& [bytes, want] : cases) {
    std::string out = "^";
    utf8::append_lossy(out, bytes);
    EXPECT_EQ(out, "^" + want) << ::testing::PrintToString(bytes);
    EXPECT_TRUE(utf8::is_valid(out));
  }
  EXPECT_FALSE(utf8::is_valid("\xE2\x82"));
}

TEST(Utf8, CodePoints) {
  for (uint32_t cp : {0u, 0x41u, 0x7Fu, 0x80u, 0x7FFu, 0x800u, 0xFFFDu, 0x10000u, 0x1F600u, 0x10FFFFu}) {
    std::string s;
    utf8::append_code_point(s, cp);
    EXPECT_EQ(utf8::valid_char_length(s), s.size());
    EXPECT_EQ(utf8::code_point(s), cp);
  }
}

}  // namespace
}  // namespace ll::test
