// DataEncoder: the fast path gives the reference tokenizer's ids; other tokenizers encode as they are.
#include <gtest/gtest.h>

#include <random>

#include "core/mapped_file.h"
#include "support/test_support.h"
#include "train/data_encoder.h"
#include "train_data_test_util.h"

namespace ll::test {
namespace {

TEST(DataEncoder, OtherTokenizersEncodeThemselves) {
  const DataEncoder encoder(tiny_tokenizer());
  EXPECT_EQ(&encoder.tokenizer(), &tiny_tokenizer());
  std::mt19937 rng(2);
  std::vector<std::string> texts;
  for (int i = 0; i < 37; ++i) texts.push_back(random_words(rng, i * 3));
  const std::vector<std::string_view> views(texts.begin(), texts.end());
  const auto ids = encoder.encode_all(views, true, true);
  ASSERT_EQ(ids.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(ids[i], tiny_tokenizer().encode(texts[i], true, true)) << i;
}

// stories260K's tokenizer.model is encoded by the equivalent VocabTokenizer: same ids as
// libsentencepiece on a long real document (a chapter of Persuasion) and on short pieces of it.
TEST(DataEncoder, SentencePieceFastPathGivesTheSameIds) {
  LL_REQUIRE_SHARED_DATA();
  const Tokenizer& reference = stories_tokenizer();
  const DataEncoder encoder(reference);
  EXPECT_NE(&encoder.tokenizer(), &reference);
  const std::string novel = read_text_file(shared_path("austen/persuasion.txt"));
  std::vector<std::string_view> texts = {std::string_view(novel).substr(20000, 60000)};
  for (size_t at = 100000; at < 101000; at += 97) texts.push_back(std::string_view(novel).substr(at, at % 61));
  const auto ids = encoder.encode_all(texts, false, true);
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(ids[i], reference.encode(texts[i], false, true)) << i;
}

}  // namespace
}  // namespace ll::test
