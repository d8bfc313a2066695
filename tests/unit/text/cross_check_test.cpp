// VocabTokenizer against libsentencepiece on the real vocabularies: thousands of random texts
// and id sequences must give identical ids and identical text.
#include <gtest/gtest.h>

#include <ctime>

#include "support/test_support.h"
#include "text/utf8.h"
#include "text_test_data.h"

namespace ll::test {
namespace {

void expect_same_encoding(const TokenizerPair& pair, int cases, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> parts(0, 24);
  int mismatches = 0;
  for (int i = 0; i < cases && mismatches < 5; ++i) {
    const std::string text = random_text(rng, pair.ours->vocab(), parts(rng));
    const std::vector<int32_t> expected = pair.reference->encode(text, false);
    const std::vector<int32_t> ids = pair.ours->encode(text, false);
    if (ids != expected) {
      ++mismatches;
      ADD_FAILURE() << "case " << i << " text '" << text << "'\n  expected "
                    << ::testing::PrintToString(expected) << "\n  found    "
                    << ::testing::PrintToString(ids);
      continue;
    }
    // Round trip: valid UTF-8 comes back exactly (random_text never produces "▁" itself).
    EXPECT_EQ(pair.ours->decode(ids), text);
    EXPECT_EQ(pair.reference->decode(ids), text);
  }
}

TEST(CrossCheck, Llama2RandomTexts) {
  LL_REQUIRE_SHARED_DATA();
  expect_same_encoding(llama2_tokenizers(), 3000, 1234);
}

TEST(CrossCheck, Stories260kRandomTexts) {
  LL_REQUIRE_SHARED_DATA();
  expect_same_encoding(stories260k_tokenizers(), 3000, 777);
}

// Arbitrary bytes, mostly malformed UTF-8: each bad byte reads as U+FFFD in both.
TEST(CrossCheck, RandomBytes) {
  LL_REQUIRE_SHARED_DATA();
  std::mt19937 rng(99);
  std::uniform_int_distribution<int> length(0, 40), byte(0, 255);
  for (const TokenizerPair* pair : {&llama2_tokenizers(), &stories260k_tokenizers()}) {
    for (int i = 0; i < 1000; ++i) {
      std::string text;
      for (int n = length(rng); n > 0; --n) text += static_cast<char>(byte(rng));
      ASSERT_EQ(pair->ours->encode(text, false), pair->reference->encode(text, false))
          << ::testing::PrintToString(text);
    }
  }
}

// Decoding arbitrary id sequences: control, unknown, byte runs cut mid-character, pieces with
// and without the leading "▁" in every position.
TEST(CrossCheck, RandomIdSequencesDecodeIdentically) {
  LL_REQUIRE_SHARED_DATA();
  std::mt19937 rng(2024);
  for (const TokenizerPair* pair : {&llama2_tokenizers(), &stories260k_tokenizers()}) {
    const int n = pair->ours->vocab_size();
    std::uniform_int_distribution<int> any_id(0, n - 1), special(0, 5), length(0, 12);
    std::uniform_int_distribution<int> byte_id(3, 3 + 255);  // <0x00>..<0xFF> in both vocabularies
    for (int i = 0; i < 3000; ++i) {
      std::vector<int32_t> ids;
      for (int k = length(rng); k > 0; --k) {
        const int s = special(rng);
        ids.push_back(s == 0 ? 0 : s == 1 ? 1 + (k & 1) : s == 2 ? byte_id(rng) : any_id(rng));
      }
      ASSERT_EQ(pair->ours->decode(ids), pair->reference->decode(ids)) << ::testing::PrintToString(ids);
    }
  }
}

TEST(CrossCheck, RoundTripsOfKnownScripts) {
  LL_REQUIRE_SHARED_DATA();
  const std::vector<std::string> texts = {
      "Hello world",
      "  leading, trailing  and   inner   runs of spaces   ",
      "\t\ttabs\tand\nnewlines\n\n\r\n",
      "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82, \xD0\xBC\xD0\xB8\xD1\x80!",  // Привет, мир!
      "\xE4\xBD\xA0\xE5\xA5\xBD\xEF\xBC\x8C\xE4\xB8\x96\xE7\x95\x8C",                  // 你好，世界
      "\xF0\x9F\x98\x80\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD \xF0\x9F\x87\xAB\xF0\x9F\x87\xB7",  // emoji
      "\xEF\xBF\xBD replacement character and \xF4\x8F\xBF\xBF the last code point",
      std::string("embedded\0nul", 12),
  };
  for (const TokenizerPair* pair : {&llama2_tokenizers(), &stories260k_tokenizers()}) {
    for (const std::string& text : texts) {
      const auto ids = pair->ours->encode(text, true, true);
      EXPECT_EQ(ids, pair->reference->encode(text, true, true)) << text;
      EXPECT_EQ(pair->ours->decode(ids), text);
    }
  }
}

// CPU time of this thread: unaffected by other processes competing for the cores.
double thread_cpu_seconds() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// 1 MiB of novels (ASCII) in one call: same ids as SentencePiece, and well under a second.
TEST(CrossCheck, OneMegabyteOfNovels) {
  LL_REQUIRE_SHARED_DATA();
  const std::string text = (read_file(shared_path("austen/emma.txt")) +
                            read_file(shared_path("austen/persuasion.txt"))).substr(0, 1 << 20);
  ASSERT_EQ(text.size(), size_t{1} << 20);
  const auto& pair = llama2_tokenizers();
  const double start = thread_cpu_seconds();
  const auto ids = pair.ours->encode(text, false);
  const double seconds = thread_cpu_seconds() - start;
  std::cout << "VocabTokenizer: " << text.size() << " bytes -> " << ids.size() << " tokens in "
            << seconds << " s of CPU time\n";
  EXPECT_EQ(ids, pair.reference->encode(text, false));
  EXPECT_EQ(pair.ours->decode(ids), text);
#if defined(NDEBUG) && !defined(__SANITIZE_ADDRESS__)
  EXPECT_LT(seconds, 1.0);
#endif
}

// A text that cannot be cut into chunks (every two neighbours occur inside some piece: "▁▁"):
// the whole MiB goes through one merge queue.
TEST(CrossCheck, OneMegabyteOfSpaces) {
  LL_REQUIRE_SHARED_DATA();
  const std::string text(size_t{1} << 20, ' ');
  const auto& pair = llama2_tokenizers();
  const double start = thread_cpu_seconds();
  const auto ids = pair.ours->encode(text, false);
  const double seconds = thread_cpu_seconds() - start;
  std::cout << "VocabTokenizer: " << text.size() << " spaces -> " << ids.size() << " tokens in "
            << seconds << " s of CPU time\n";
  EXPECT_EQ(ids, pair.reference->encode(text, false));
  EXPECT_EQ(pair.ours->decode(ids), text);
#if defined(NDEBUG) && !defined(__SANITIZE_ADDRESS__)
  EXPECT_LT(seconds, 1.0);
#endif
}

}  // namespace
}  // namespace ll::test
