// The hand-written scanners for the pre-tokenizer regexes split exactly as the tokenizers library
// (Oniguruma) does; every expectation below is the library's own output (pre_tokenize_str).
#include "text/split_patterns.h"

#include <gtest/gtest.h>

namespace ll::test {
namespace {

struct Case {
  const char* text;
  std::vector<std::string> gpt2, llama3, qwen2;
};

// (Qwen2 differs from Llama 3 only in single digits.)
const Case kCases[] = {
    {"Hello world", {"Hello", " world"}, {"Hello", " world"}, {"Hello", " world"}},
    {"I'M here, it'S THEIR'S 'll",
     {"I", "'", "M", " here", ",", " it", "'", "S", " THEIR", "'", "S", " '", "ll"},
     {"I", "'M", " here", ",", " it", "'S", " THEIR", "'S", " '", "ll"},
     {"I", "'M", " here", ",", " it", "'S", " THEIR", "'S", " '", "ll"}},
    {"x  \n\n  y\t\tz   ",
     {"x", "  \n\n ", " y", "\t", "\t", "z", "   "},
     {"x", "  \n\n", " ", " y", "\t", "\tz", "   "},
     {"x", "  \n\n", " ", " y", "\t", "\tz", "   "}},
    {"1234567 \u0661\u0662\u0663\u0664 \uff11\uff12",
     {"1234567", " \u0661\u0662\u0663\u0664", " \uff11\uff12"},
     {"123", "456", "7", " ", "\u0661\u0662\u0663", "\u0664", " ", "\uff11\uff12"},
     {"1", "2", "3", "4", "5", "6", "7", " ", "\u0661", "\u0662", "\u0663", "\u0664", " ", "\uff11", "\uff12"}},
    {"(hello) \"quoted\"...\r\n\r\nnext",
     {"(", "hello", ")", " \"", "quoted", "\"...", "\r\n\r", "\n", "next"},
     {"(hello", ")", " \"", "quoted", "\"...\r\n\r\n", "next"},
     {"(hello", ")", " \"", "quoted", "\"...\r\n\r\n", "next"}},
    // U+017F LONG S folds to s under (?i); U+00A0, U+3000 and U+2028 are whitespace.
    {"don'\u017f a\u00a0 b\u3000c\u2028d",
     {"don", "'", "\u017f", " a", "\u00a0", " b", "\u3000", "c", "\u2028", "d"},
     {"don", "'\u017f", " a", "\u00a0", " b", "\u3000c", "\u2028d"},
     {"don", "'\u017f", " a", "\u00a0", " b", "\u3000c", "\u2028d"}},
    {"  leading", {" ", " leading"}, {" ", " leading"}, {" ", " leading"}},
    {"trailing  ", {"trailing", "  "}, {"trailing", "  "}, {"trailing", "  "}},
    {"a\u0301b\u0308", {"a", "\u0301", "b", "\u0308"}, {"a", "\u0301b", "\u0308"}, {"a", "\u0301b", "\u0308"}},
    {"$$ ++ -- a.b,c;",
     {"$$", " ++", " --", " a", ".", "b", ",", "c", ";"},
     {"$$", " ++", " --", " a", ".b", ",c", ";"},
     {"$$", " ++", " --", " a", ".b", ",c", ";"}},
    {" 's", {" '", "s"}, {" '", "s"}, {" '", "s"}},
    {" \n ", {" \n "}, {" \n", " "}, {" \n", " "}},
    {"x\r\ny", {"x", "\r", "\n", "y"}, {"x", "\r\n", "y"}, {"x", "\r\n", "y"}},
    {"", {}, {}, {}},
};

std::vector<std::string> split(SplitPattern pattern, const char* text) {
  std::vector<std::string> pieces;
  for (std::string_view piece : split_by_pattern(pattern, text)) pieces.emplace_back(piece);
  return pieces;
}

TEST(SplitPatterns, SplitAsTheTokenizersLibraryDoes) {
  for (const Case& c : kCases) {
    EXPECT_EQ(split(SplitPattern::Gpt2, c.text), c.gpt2) << ::testing::PrintToString(std::string(c.text));
    EXPECT_EQ(split(SplitPattern::Llama3, c.text), c.llama3) << ::testing::PrintToString(std::string(c.text));
    EXPECT_EQ(split(SplitPattern::Qwen2, c.text), c.qwen2) << ::testing::PrintToString(std::string(c.text));
  }
}

TEST(SplitPatterns, RecognisesOnlyTheExactPatternStrings) {
  for (SplitPattern p : {SplitPattern::Gpt2, SplitPattern::Llama3, SplitPattern::Qwen2})
    EXPECT_EQ(recognize_split_pattern(split_pattern_regex(p)), p);
  EXPECT_FALSE(recognize_split_pattern(R"(\s+)"));
  // Mistral Nemo's and Llama 4's style (o200k): not one of ours.
  EXPECT_FALSE(recognize_split_pattern(
      R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)"));
  std::string almost(split_pattern_regex(SplitPattern::Llama3));
  almost.back() = '*';
  EXPECT_FALSE(recognize_split_pattern(almost));
}

// The pieces always cover the text exactly, whatever it is.
TEST(SplitPatterns, PiecesCoverTheText) {
  const std::string text =
      "Mixed: 'Tis 99 bottles\t\ton the wall!!\n\n  \u00e9\u0301 \U0001F600\u200d\U0001F601 'RE 'LL 12345";
  for (SplitPattern p : {SplitPattern::Gpt2, SplitPattern::Llama3, SplitPattern::Qwen2}) {
    std::string joined;
    for (std::string_view piece : split_by_pattern(p, text)) {
      EXPECT_FALSE(piece.empty());
      joined += piece;
    }
    EXPECT_EQ(joined, text);
  }
}

}  // namespace
}  // namespace ll::test
