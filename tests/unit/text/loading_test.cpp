// Where tokenizers come from: tokenizer.model files, GGUF vocabularies, model checkpoints, and
// the errors for everything else.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "formats/model_files.h"
#include "formats/gguf.h"
#include "formats/gguf_writer.h"
#include "support/test_support.h"
#include "text/gguf_vocab.h"
#include "text/sentencepiece_model.h"
#include "text_test_data.h"

namespace ll::test {
namespace {

// Runs `load` and checks that it throws InputError whose message contains every part.
template <typename Load>
void expect_input_error(Load load, const std::vector<std::string>& parts) {
  try {
    load();
    ADD_FAILURE() << "no error; expected one mentioning '" << parts.front() << "'";
  } catch (const InputError& e) {
    for (const auto& part : parts)
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what() << "\nlacks: " << part;
  }
}

TEST(Loading, BrokenTokenizerModelFilesAreInputErrors) {
  TempDir dir;
  const std::string missing = dir.file("missing.model");
  expect_input_error([&] { load_tokenizer(missing); }, {missing});
  const std::string empty = dir.file("empty.model");
  write_file(empty, "");
  expect_input_error([&] { load_tokenizer(empty); }, {empty});
  std::mt19937 rng(5);
  std::string noise;
  for (int i = 0; i < 5000; ++i) noise += static_cast<char>(rng());
  const std::string garbage = dir.file("garbage.model");
  write_file(garbage, noise);
  expect_input_error([&] { load_tokenizer(garbage); }, {garbage});
  const std::string text = dir.file("text.model");
  write_file(text, "this is not a tokenizer\n");
  expect_input_error([&] { load_tokenizer(text); }, {text});
}

TEST(Loading, TruncatedTokenizerModelIsAnInputError) {
  LL_REQUIRE_SHARED_DATA();
  const std::string whole = read_file(shared_path("llama2-tokenizer.model"));
  TempDir dir;
  for (size_t length : {size_t{3}, size_t{1000}, whole.size() / 2, whole.size() - 1}) {
    const std::string path = dir.file("truncated.model");
    write_file(path, whole.substr(0, length));
    expect_input_error([&] { load_tokenizer(path); }, {path});
  }
}

// Corrupted copies of a real model either load (and then work) or fail with an InputError.
TEST(Loading, CorruptedTokenizerModelNeverCrashes) {
  LL_REQUIRE_SHARED_DATA();
  const std::string whole = read_file(shared_path("stories260K-hf/tokenizer.model"));
  std::mt19937 rng(8);
  std::uniform_int_distribution<size_t> position(0, whole.size() - 1);
  int loaded = 0, rejected = 0;
  for (int i = 0; i < 300; ++i) {
    std::string corrupted = whole;
    for (int k = 0; k < 1 + i % 4; ++k) corrupted[position(rng)] = static_cast<char>(rng());
    try {
      const auto tokenizer = SentencePieceTokenizer::from_serialized(corrupted, "corrupted.model");
      const auto ids = tokenizer->encode("Once upon a time \xC3\xA9", true);
      tokenizer->decode(ids);
      ++loaded;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("corrupted.model"), std::string::npos) << e.what();
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 0);
  EXPECT_GT(loaded, 0);
}

// libsentencepiece aborts the process on a piece whose text is empty or starts with a NUL byte
// (its trie takes C strings); such models are refused first (a fuzzer's finding:
// fuzz/regressions/tokenizer_model).
TEST(Loading, EmptyOrNulPiecesAreRefusedBeforeSentencePieceSeesThem) {
  LL_REQUIRE_SHARED_DATA();
  const std::string model = read_file(shared_path("stories260K-hf/tokenizer.model"));  // 512 pieces
  const std::string empty_piece = model + std::string("\x0A\x02\x0A\x00", 4);        // pieces { piece: "" }
  const std::string nul_piece = model + std::string("\x0A\x04\x0A\x02\x00z", 6);    // pieces { piece: "\0z" }
  expect_input_error([&] { SentencePieceTokenizer::from_serialized(empty_piece, "e.model"); },
                     {"e.model", "pieces[512] is empty"});
  expect_input_error([&] { SentencePieceTokenizer::from_serialized(nul_piece, "n.model"); },
                     {"n.model", "pieces[512] contains a NUL byte"});
}

TEST(Loading, DirectoriesWithAndWithoutTokenizerModel) {
  LL_REQUIRE_SHARED_DATA();
  const auto from_dir = load_tokenizer(shared_path("stories260K-hf"));
  EXPECT_EQ(from_dir->vocab_size(), 512);
  EXPECT_NE(dynamic_cast<const SentencePieceTokenizer*>(from_dir.get()), nullptr);
  TempDir empty;
  expect_input_error([&] { load_tokenizer(empty.path()); },
                     {"no tokenizer: " + empty.path() + " has no tokenizer.model or tokenizer.json and is not a GGUF file"});
}

TEST(Loading, VocabularyOnlyForModelsVocabTokenizerReproduces) {
  LL_REQUIRE_SHARED_DATA();
  const std::string model = read_file(shared_path("stories260K-hf/tokenizer.model"));
  // Protobuf merges a repeated sub-message field into the first: these override one setting.
  const std::string unigram = model + std::string("\x12\x02\x18\x01", 4);   // trainer_spec.model_type = 1
  const std::string collapsing = model + std::string("\x1A\x02\x20\x01", 4);  // remove_extra_whitespaces
  const std::string no_prefix = model + std::string("\x1A\x02\x18\x00", 4);   // add_dummy_prefix = false
  expect_input_error([&] { sentencepiece_vocab(*SentencePieceTokenizer::from_serialized(unigram, "u.model")); },
                     {"u.model", "trainer_spec.model_type"});
  expect_input_error([&] { sentencepiece_vocab(*SentencePieceTokenizer::from_serialized(collapsing, "c.model")); },
                     {"c.model", "remove_extra_whitespaces"});
  // Without the dummy prefix both still agree.
  const auto reference = SentencePieceTokenizer::from_serialized(no_prefix, "n.model");
  const Vocab vocab = sentencepiece_vocab(*reference);
  EXPECT_FALSE(vocab.add_dummy_prefix);
  const VocabTokenizer ours(vocab);
  for (const std::string text : {"Hello world", " two  spaces", "x"}) {
    EXPECT_EQ(ours.encode(text, false), reference->encode(text, false)) << text;
    EXPECT_EQ(ours.decode(ours.encode(text, false)), reference->decode(reference->encode(text, false)));
  }
}

TEST(Loading, SerializedVocabularyLoadsBackIdentically) {
  LL_REQUIRE_SHARED_DATA();
  const Vocab& vocab = llama2_tokenizers().ours->vocab();
  const auto reloaded = SentencePieceTokenizer::from_serialized(serialize_sentencepiece_model(vocab), "copy");
  const Vocab copy = sentencepiece_vocab(*reloaded);
  EXPECT_EQ(copy.pieces, vocab.pieces);
  EXPECT_EQ(copy.scores, vocab.scores);
  EXPECT_EQ(copy.types, vocab.types);
  EXPECT_EQ(copy.bos, vocab.bos);
  EXPECT_EQ(copy.eos, vocab.eos);
  EXPECT_EQ(copy.unk, vocab.unk);
  for (const auto& c : llama2_reference_tokenizations()) EXPECT_EQ(reloaded->encode(c.text, false), c.ids);
}

// ---- GGUF ----------------------------------------------------------------------------------

TEST(GgufVocab, Stories260kGgufMatchesItsTokenizerModel) {
  LL_REQUIRE_SHARED_DATA();
  const GgufFile gguf(shared_path("stories260K.gguf"));
  const Vocab from_gguf = load_gguf_vocab(gguf);
  const Vocab& from_model = stories260k_tokenizers().ours->vocab();
  EXPECT_EQ(from_gguf.pieces, from_model.pieces);
  EXPECT_EQ(from_gguf.scores, from_model.scores);
  EXPECT_EQ(from_gguf.types, from_model.types);
  EXPECT_EQ(from_gguf.bos, from_model.bos);
  EXPECT_EQ(from_gguf.eos, from_model.eos);
  EXPECT_EQ(from_gguf.unk, from_model.unk);
  EXPECT_EQ(from_gguf.add_dummy_prefix, from_model.add_dummy_prefix);

  // The GGUF tokenizer gives libsentencepiece's ids for tokenizer.model.
  const auto from_file = load_tokenizer(shared_path("stories260K.gguf"));
  ASSERT_NE(dynamic_cast<const VocabTokenizer*>(from_file.get()), nullptr);
  const auto& reference = *stories260k_tokenizers().reference;
  std::mt19937 rng(11);
  for (int i = 0; i < 2000; ++i) {
    const std::string text = random_text(rng, from_gguf, 1 + i % 20);
    const auto ids = from_file->encode(text, true);
    ASSERT_EQ(ids, reference.encode(text, true)) << text;
    ASSERT_EQ(from_file->decode(ids), text);
  }
}

TEST(GgufVocab, CheckpointsBringTheirTokenizer) {
  LL_REQUIRE_SHARED_DATA();
  const auto hf = ModelFiles::open(shared_path("stories260K-hf"));
  const auto hf_tokenizer = load_tokenizer(*hf);
  EXPECT_NE(dynamic_cast<const SentencePieceTokenizer*>(hf_tokenizer.get()), nullptr);
  const auto gguf = ModelFiles::open(shared_path("stories260K.gguf"));
  const auto gguf_tokenizer = load_tokenizer(*gguf);
  EXPECT_NE(dynamic_cast<const VocabTokenizer*>(gguf_tokenizer.get()), nullptr);
  const std::string text = "Once upon a time, there was a little girl named Lily.";
  EXPECT_EQ(gguf_tokenizer->encode(text, true), hf_tokenizer->encode(text, true));

  // An HF directory without tokenizer.model.
  TempDir dir;
  for (const char* name : {"config.json", "model.safetensors"})
    std::filesystem::copy_file(shared_path(std::string("stories260K-hf/") + name), dir.file(name));
  const auto bare = ModelFiles::open(dir.path());
  expect_input_error([&] { load_tokenizer(*bare); },
                     {"no tokenizer: " + dir.path() + " has no tokenizer.model or tokenizer.json and is not a GGUF file"});
}

// A small GGUF holding only a vocabulary's metadata.
void write_vocab_gguf(const std::string& path, const std::string& model, bool with_scores) {
  GgufWriter writer;
  writer.add_string("tokenizer.ggml.model", model);
  writer.add_string_array("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "\xE2\x96\x81" "a", "b"});
  if (with_scores) writer.add_f32_array("tokenizer.ggml.scores", {0, 0, 0, -1, -2});
  writer.add_i32_array("tokenizer.ggml.token_type", {2, 3, 3, 1, 1});
  writer.add_bool("tokenizer.ggml.add_space_prefix", true);
  writer.write(path);
}

TEST(GgufVocab, ReadsAMinimalVocabulary) {
  TempDir dir;
  const std::string path = dir.file("vocab.gguf");
  write_vocab_gguf(path, "llama", true);
  const auto tokenizer = load_tokenizer(path);
  EXPECT_EQ(tokenizer->vocab_size(), 5);
  EXPECT_EQ(tokenizer->bos_id(), 1);  // llama.cpp's defaults when the ids are absent
  EXPECT_EQ(tokenizer->eos_id(), 2);
  EXPECT_EQ(tokenizer->encode("ab", true), (std::vector<int32_t>{1, 3, 4}));
  EXPECT_EQ(tokenizer->encode("c", false), (std::vector<int32_t>{0}));  // no byte pieces: <unk>
}

TEST(GgufVocab, RejectsOtherVocabulariesAndMissingKeys) {
  TempDir dir;
  const std::string gpt2 = dir.file("gpt2.gguf");
  write_vocab_gguf(gpt2, "gpt2", true);
  expect_input_error([&] { load_tokenizer(gpt2); }, {gpt2, "tokenizer.ggml.model", "gpt2"});
  const std::string no_scores = dir.file("no_scores.gguf");
  write_vocab_gguf(no_scores, "llama", false);
  expect_input_error([&] { load_tokenizer(no_scores); }, {no_scores, "tokenizer.ggml.scores"});
  const std::string truncated = dir.file("truncated.gguf");
  write_vocab_gguf(truncated, "llama", true);
  write_file(truncated, read_file(truncated).substr(0, 60));
  expect_input_error([&] { load_tokenizer(truncated); }, {truncated});
}

}  // namespace
}  // namespace ll::test
