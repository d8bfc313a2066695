// The LLaMA-2 tokenizer's published test vectors, through both implementations.
#include <gtest/gtest.h>

#include "support/test_support.h"
#include "text_test_data.h"

namespace ll::test {
namespace {

TEST(ReferenceVectors, FileHoldsTheExpectedCases) {
  LL_REQUIRE_SHARED_DATA();
  const auto cases = llama2_reference_tokenizations();
  // 46 texts, each followed by a separator (splitting on the separator leaves a 47th, empty
  // remainder, which is not a case). The third text is the empty string.
  ASSERT_EQ(cases.size(), 46u);
  EXPECT_EQ(cases[0].text, "ied 4 \xC2\xBD months");
  EXPECT_EQ(cases[2].text, "");
  EXPECT_TRUE(cases[2].ids.empty());
  EXPECT_EQ(cases[7].text, "\n");
}

TEST(ReferenceVectors, SentencePieceTokenizerMatchesEveryCase) {
  LL_REQUIRE_SHARED_DATA();
  const auto& tokenizer = *llama2_tokenizers().reference;
  for (const auto& c : llama2_reference_tokenizations())
    EXPECT_EQ(tokenizer.encode(c.text, false), c.ids) << "text: '" << c.text << "'";
}

TEST(ReferenceVectors, VocabTokenizerMatchesEveryCase) {
  LL_REQUIRE_SHARED_DATA();
  const auto& tokenizer = *llama2_tokenizers().ours;
  for (const auto& c : llama2_reference_tokenizations())
    EXPECT_EQ(tokenizer.encode(c.text, false), c.ids) << "text: '" << c.text << "'";
}

TEST(ReferenceVectors, DecodingGivesTheTextBackWithBothImplementations) {
  LL_REQUIRE_SHARED_DATA();
  const auto& pair = llama2_tokenizers();
  for (const auto& c : llama2_reference_tokenizations()) {
    EXPECT_EQ(pair.reference->decode(c.ids), c.text);
    EXPECT_EQ(pair.ours->decode(c.ids), c.text);
  }
}

TEST(ReferenceVectors, HelloWorld) {
  LL_REQUIRE_SHARED_DATA();
  const auto& pair = llama2_tokenizers();
  for (const Tokenizer* tokenizer : {static_cast<const Tokenizer*>(pair.reference.get()),
                                     static_cast<const Tokenizer*>(pair.ours.get())}) {
    EXPECT_EQ(tokenizer->encode("Hello world", false), (std::vector<int32_t>{15043, 3186}));
    EXPECT_EQ(tokenizer->encode("Hello world", true), (std::vector<int32_t>{1, 15043, 3186}));
    EXPECT_EQ(tokenizer->encode("Hello world", true, true),
              (std::vector<int32_t>{1, 15043, 3186, 2}));
    EXPECT_EQ(tokenizer->decode(std::vector<int32_t>{1, 15043, 3186, 2}), "Hello world");
    EXPECT_EQ(tokenizer->bos_id(), 1);
    EXPECT_EQ(tokenizer->eos_id(), 2);
    EXPECT_EQ(tokenizer->vocab_size(), 32000);
    EXPECT_EQ(tokenizer->piece(15043), "\xE2\x96\x81Hello");
    EXPECT_EQ(tokenizer->token_type(0), TokenType::Unknown);
    EXPECT_EQ(tokenizer->token_type(1), TokenType::Control);
    EXPECT_EQ(tokenizer->token_type(3), TokenType::Byte);
    EXPECT_EQ(tokenizer->token_type(15043), TokenType::Normal);
  }
}

}  // namespace
}  // namespace ll::test
