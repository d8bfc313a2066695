// StreamingDecoder: pushing ids one at a time yields decode() of the whole sequence, in pieces
// that never split a UTF-8 character.
#include <gtest/gtest.h>

#include "core/error.h"
#include "support/test_support.h"
#include "text/stream_decoder.h"
#include "text/utf8.h"
#include "text_test_data.h"

namespace ll::test {
namespace {

bool is_valid_utf8(std::string_view s) {
  while (!s.empty()) {
    const size_t length = utf8::valid_char_length(s);
    if (length == 0) return false;
    s.remove_prefix(length);
  }
  return true;
}

// Streams `ids` after `context`; checks each step against decoding the prefix so far and
// returns everything the decoder printed.
std::string stream(const Tokenizer& tokenizer, const std::vector<int32_t>& context,
                   const std::vector<int32_t>& ids, bool expect_whole_characters) {
  StreamingDecoder decoder(tokenizer, context);
  const std::string context_text = tokenizer.decode(context);
  std::vector<int32_t> full = context;
  full.insert(full.end(), ids.begin(), ids.end());
  const std::string final_text = tokenizer.decode(full);
  std::string printed;
  for (int32_t id : ids) {
    const std::string piece = decoder.push(id);
    if (expect_whole_characters) EXPECT_TRUE(is_valid_utf8(piece)) << ::testing::PrintToString(piece);
    printed += piece;
    // What is printed so far is final: a prefix of the whole text.
    EXPECT_EQ(final_text.compare(context_text.size(), printed.size(), printed), 0)
        << "printed " << ::testing::PrintToString(printed) << "\nfinal   " << ::testing::PrintToString(final_text);
  }
  printed += decoder.finish();
  return printed;
}

std::vector<const Tokenizer*> both(const TokenizerPair& pair) { return {pair.reference.get(), pair.ours.get()}; }

TEST(StreamingDecoder, ConcatenationEqualsDecodeOnRandomTexts) {
  LL_REQUIRE_SHARED_DATA();
  std::mt19937 rng(3);
  for (const TokenizerPair* pair : {&llama2_tokenizers(), &stories260k_tokenizers()}) {
    for (const Tokenizer* tokenizer : both(*pair)) {
      for (int i = 0; i < 300; ++i) {
        const std::string text = random_text(rng, pair->ours->vocab(), 1 + i % 20);
        const auto ids = tokenizer->encode(text, i % 2 == 0);
        EXPECT_EQ(stream(*tokenizer, {}, ids, true), text);
      }
    }
  }
}

TEST(StreamingDecoder, ConcatenationEqualsDecodeOnRandomIds) {
  LL_REQUIRE_SHARED_DATA();
  std::mt19937 rng(4);
  for (const TokenizerPair* pair : {&llama2_tokenizers(), &stories260k_tokenizers()}) {
    const int n = pair->ours->vocab_size();
    std::uniform_int_distribution<int> kind(0, 9), any_id(0, n - 1), byte_id(3, 258), length(0, 30);
    for (const Tokenizer* tokenizer : both(*pair)) {
      for (int i = 0; i < 500; ++i) {
        std::vector<int32_t> context, ids;
        for (auto* seq : {&context, &ids})
          for (int k = length(rng) / (seq == &context ? 3 : 1); k > 0; --k) {
            const int c = kind(rng);  // bytes often, so that characters get cut and malformed
            seq->push_back(c < 4 ? byte_id(rng) : c == 4 ? 1 : c == 5 ? 0 : c == 6 ? 29871 % n : any_id(rng));
          }
        // A context ending in a piece is all settled (an unfinished character at its end is
        // covered by HoldsBackUnfinishedCharacters).
        context.push_back(any_id(rng) % 2 == 0 ? 1 : 300);  // <s> or a plain piece
        std::vector<int32_t> full = context;
        full.insert(full.end(), ids.begin(), ids.end());
        const std::string expected = tokenizer->decode(full);
        const std::string streamed = stream(*tokenizer, context, ids, false);
        // The context's own text is not repeated.
        const std::string context_text = tokenizer->decode(context);
        ASSERT_EQ(context_text + streamed, expected) << ::testing::PrintToString(ids);
      }
    }
  }
}

TEST(StreamingDecoder, HoldsBackUnfinishedCharacters) {
  LL_REQUIRE_SHARED_DATA();
  for (const Tokenizer* tokenizer : both(llama2_tokenizers())) {
    // "😀" is F0 9F 98 80: four byte tokens <0xF0>.. = ids 3 + byte.
    StreamingDecoder decoder(*tokenizer);
    EXPECT_EQ(decoder.push(3 + 0xF0), "");
    EXPECT_EQ(decoder.push(3 + 0x9F), "");
    EXPECT_EQ(decoder.push(3 + 0x98), "");
    EXPECT_EQ(decoder.push(3 + 0x80), "\xF0\x9F\x98\x80");
    // A byte that cannot continue the character: the held bytes become U+FFFD each.
    EXPECT_EQ(decoder.push(3 + 0xE4), "");
    EXPECT_EQ(decoder.push(3 + 'A'), "\xEF\xBF\xBD" "A");
    // A piece ends the byte run.
    EXPECT_EQ(decoder.push(3 + 0xC3), "");
    EXPECT_EQ(decoder.push(3186), "\xEF\xBF\xBD world");
    // finish() flushes an unfinished character.
    EXPECT_EQ(decoder.push(3 + 0xE4), "");
    EXPECT_EQ(decoder.push(3 + 0xB8), "");
    EXPECT_EQ(decoder.finish(), "\xEF\xBF\xBD\xEF\xBF\xBD");
    // The context may end inside a character that the first new token completes: "中".
    const std::vector<int32_t> context = {1, 3 + 0xE4, 3 + 0xB8};
    StreamingDecoder after_context(*tokenizer, context);
    EXPECT_EQ(after_context.push(3 + 0xAD), "\xE4\xB8\xAD");
  }
}

TEST(StreamingDecoder, LeadingSpaceAfterThePromptIsKept) {
  LL_REQUIRE_SHARED_DATA();
  for (const Tokenizer* tokenizer : both(llama2_tokenizers())) {
    const auto prompt = tokenizer->encode("Hello", true);  // <s> ▁Hello
    StreamingDecoder after_prompt(*tokenizer, prompt);
    EXPECT_EQ(after_prompt.push(3186), " world");  // ▁world
    StreamingDecoder from_start(*tokenizer);
    EXPECT_EQ(from_start.push(1), "");
    EXPECT_EQ(from_start.push(29871), "");  // a lone "▁" at the start is the dummy prefix
    EXPECT_EQ(from_start.push(3186), " world");
    EXPECT_EQ(from_start.push(3186), " world");
  }
}

TEST(StreamingDecoder, LongStreamsStayFast) {
  LL_REQUIRE_SHARED_DATA();
  const auto& tokenizer = *llama2_tokenizers().ours;
  const std::string text = read_file(shared_path("austen/persuasion.txt")).substr(0, 200000);
  const auto ids = tokenizer.encode(text, true);
  StreamingDecoder decoder(tokenizer);
  std::string printed;
  for (int32_t id : ids) printed += decoder.push(id);
  printed += decoder.finish();
  EXPECT_EQ(printed, text);  // ~50k tokens; decoding the whole prefix each time would take minutes
}

TEST(StreamingDecoder, RejectsIdsOutsideTheVocabulary) {
  LL_REQUIRE_SHARED_DATA();
  StreamingDecoder decoder(*llama2_tokenizers().ours);
  EXPECT_THROW(decoder.push(32000), InputError);
  EXPECT_THROW(decoder.push(-5), InputError);
}

}  // namespace
}  // namespace ll::test
