// HfTokenizer (tokenizer.json): byte-level BPE and the SentencePiece-style form, built in the
// test. The comparisons with the tokenizers library itself are in tests/interop.
#include "text/hf_tokenizer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "formats/model_files.h"
#include "support/test_support.h"
#include "text/stream_decoder.h"
#include "text/utf8.h"
#include "text_test_data.h"
#include "tokenizer_json_data.h"

namespace ll::test {
namespace {

using json = nlohmann::json;

std::unique_ptr<HfTokenizer> hf(const json& document) {
  return std::make_unique<HfTokenizer>(parse_tokenizer_json(document.dump(), "test tokenizer.json"));
}

// Byte ids are the byte values; merges from 256 on.
const std::vector<std::pair<std::string, std::string>> kMerges = {{"H", "e"}, {"l", "l"}, {"He", "ll"}, {"Hell", "o"},
                                                                  {" ", "w"}, {"o", "r"}, {" w", "or"}, {"l", "d"}};
constexpr int32_t kHello = 259, kSpaceW = 260, kOr = 261, kSpaceWor = 262, kLd = 263, kBos = 264, kEos = 265;

TEST(HfTokenizer, ByteLevelBpeMergesLowestRankFirst) {
  const auto t = hf(byte_level_tokenizer_json(kMerges));
  EXPECT_EQ(t->vocab_size(), 266);
  EXPECT_EQ(t->bos_id(), kBos);
  // "Hello" is a token (ignore_merges); " world" merges Ġw, then or, then Ġwor, then ld.
  EXPECT_EQ(t->encode("Hello world", false), (std::vector<int32_t>{kHello, kSpaceWor, kLd}));
  EXPECT_EQ(t->encode("Hello world", true), (std::vector<int32_t>{kBos, kHello, kSpaceWor, kLd}));
  // Without merges for it, "wo" stays bytes; Ġw still merges.
  EXPECT_EQ(t->encode(" wo", false), (std::vector<int32_t>{kSpaceW, 'o'}));
  EXPECT_EQ(t->decode(t->encode("Hello world", true)), "Hello world");
  // Added tokens are cut out first, wherever they are, and special ones vanish when decoding.
  EXPECT_EQ(t->encode("Hello<|eos|>world", false), (std::vector<int32_t>{kHello, kEos, 'w', kOr, kLd}));
  EXPECT_EQ(t->decode(t->encode("Hello<|eos|>world", false)), "Helloworld");
  EXPECT_EQ(t->token_type(kEos), TokenType::Control);
  EXPECT_EQ(t->token_type(kHello), TokenType::Normal);
  EXPECT_EQ(t->piece(kSpaceWor), byte_level_spelling(" wor"));
}

TEST(HfTokenizer, MalformedUtf8IsReplacedPerMaximalSubpart) {
  const auto t = hf(byte_level_tokenizer_json(kMerges));
  // "\xE2\x82" is one malformed subpart: one U+FFFD (EF BF BD), as Python's errors="replace".
  EXPECT_EQ(t->encode("a\xE2\x82!", false), (std::vector<int32_t>{'a', 0xEF, 0xBF, 0xBD, '!'}));
  EXPECT_EQ(t->encode("\xC0\xAF", false), (std::vector<int32_t>{0xEF, 0xBF, 0xBD, 0xEF, 0xBF, 0xBD}));
  // Byte tokens decode together; a cut character is one U+FFFD, as Rust's from_utf8_lossy.
  EXPECT_EQ(t->decode(std::vector<int32_t>{0xE2, 0x82, 0xAC}), "\xE2\x82\xAC");
  EXPECT_EQ(t->decode(std::vector<int32_t>{'x', 0xE2, 0x82, 'y'}), "x\xEF\xBF\xBDy");
}

TEST(HfTokenizer, WithoutTemplateBosAddsNothing) {
  json document = byte_level_tokenizer_json(kMerges);
  document["post_processor"] = nullptr;
  const auto t = hf(document);
  EXPECT_EQ(t->bos_id(), -1);
  EXPECT_EQ(t->encode("Hello", true), std::vector<int32_t>{kHello});      // as Qwen2: nothing before the text
  EXPECT_THROW(t->encode("Hello", false, /*add_eos=*/true), InputError);  // no EOS named anywhere
}

// LLaMA-2's tokenizer.json form made from a real SentencePiece vocabulary gives libsentencepiece's
// ids and text (the converted tokenizer.json of the tokenizers library does too: tests/interop).
TEST(HfTokenizer, SentencePieceStyleMatchesSentencePiece) {
  LL_REQUIRE_SHARED_DATA();
  std::mt19937 rng(21);
  for (const TokenizerPair* pair : {&stories260k_tokenizers(), &llama2_tokenizers()}) {
    const auto t = hf(sentencepiece_style_tokenizer_json(pair->ours->vocab()));
    const Tokenizer& reference = *pair->reference;
    EXPECT_EQ(t->bos_id(), reference.bos_id());
    for (int i = 0; i < 400; ++i) {
      const std::string text = random_text(rng, pair->ours->vocab(), 1 + i % 20);
      if (text.find('<') != std::string::npos) continue;  // "<s>" in text is a token for tokenizer.json
      const auto ids = t->encode(text, true);
      ASSERT_EQ(ids, reference.encode(text, true)) << ::testing::PrintToString(text);
      ASSERT_EQ(t->decode(ids), text);
    }
  }
}

// Pushing ids one at a time prints exactly decode(all), never text that later changes.
void expect_streams_exactly(const Tokenizer& t, const std::vector<int32_t>& ids) {
  const std::string whole = t.decode(ids);
  StreamingDecoder decoder(t);
  std::string printed;
  for (int32_t id : ids) {
    printed += decoder.push(id);
    ASSERT_EQ(whole.compare(0, printed.size(), printed), 0) << ::testing::PrintToString(printed);
  }
  printed += decoder.finish();
  ASSERT_EQ(printed, whole);
}

TEST(HfTokenizer, StreamingDecoderOnByteLevelAndByteFallback) {
  LL_REQUIRE_SHARED_DATA();
  const auto byte_level = hf(byte_level_tokenizer_json(kMerges));
  const auto byte_fallback = hf(sentencepiece_style_tokenizer_json(stories260k_tokenizers().ours->vocab()));
  std::mt19937 rng(6);
  for (const HfTokenizer* t : {byte_level.get(), byte_fallback.get()}) {
    std::uniform_int_distribution<int> any_id(0, t->vocab_size() - 1), length(0, 30), kind(0, 3);
    for (int i = 0; i < 500; ++i) {
      std::vector<int32_t> ids(length(rng));
      // Often bytes 0x80..0xFF (ids 128..255 in the byte-level vocabulary, <0x80>.. in the other),
      // so that characters are cut, completed and malformed.
      const int first_high_byte = t == byte_level.get() ? 0x80 : 3 + 0x80;
      for (int32_t& id : ids) id = kind(rng) < 2 ? first_high_byte + (any_id(rng) % 128) : any_id(rng);
      expect_streams_exactly(*t, ids);
    }
    const std::string text = "Hello world, \xC3\xA9t\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 Hello<|eos|>\n";
    expect_streams_exactly(*t, t->encode(text, true));
  }
}

TEST(HfTokenizer, LoadingPrefersTokenizerModelAndFallsBackToTokenizerJson) {
  LL_REQUIRE_SHARED_DATA();
  TempDir dir;
  const std::string json_text = sentencepiece_style_tokenizer_json(stories260k_tokenizers().ours->vocab()).dump();
  write_file(dir.file("tokenizer.json"), json_text);
  EXPECT_NE(dynamic_cast<const HfTokenizer*>(load_tokenizer(dir.path()).get()), nullptr);
  // Any name: .json, or a file starting with '{'.
  write_file(dir.file("vocab.txt"), json_text);
  EXPECT_NE(dynamic_cast<const HfTokenizer*>(load_tokenizer(dir.file("vocab.txt")).get()), nullptr);
  std::filesystem::copy_file(shared_path("stories260K-hf/tokenizer.model"), dir.file("tokenizer.model"));
  EXPECT_NE(dynamic_cast<const SentencePieceTokenizer*>(load_tokenizer(dir.path()).get()), nullptr);

  // A model directory with tokenizer.json only.
  TempDir model;
  for (const char* name : {"config.json", "model.safetensors"})
    std::filesystem::copy_file(shared_path(std::string("stories260K-hf/") + name), model.file(name));
  write_file(model.file("tokenizer.json"), json_text);
  const auto files = ModelFiles::open(model.path());
  const auto tokenizer = load_tokenizer(*files);
  ASSERT_NE(dynamic_cast<const HfTokenizer*>(tokenizer.get()), nullptr);
  const std::string text = "Once upon a time, there was a little girl named Lily.";
  EXPECT_EQ(tokenizer->encode(text, true), stories260k_tokenizers().reference->encode(text, true));
}

}  // namespace
}  // namespace ll::test
