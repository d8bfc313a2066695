// tokenizer.json models against Hugging Face's `tokenizers` library (build/venv): the Python half
// (tokenizer_json.py) builds six tokenizers with Hugging Face's own tools (BpeTrainer on Austen with
// Llama 3's, Qwen2's and GPT-2's settings; transformers' conversion of LLaMA-2's and stories260K's
// tokenizer.model) and records the library's ids and decoded text for 214 texts (LLaMA-2's 46
// reference texts, a chapter of Persuasion, hard cases, random mixtures); longlora must agree
// exactly, through the library and through the CLI.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "formats/json_file.h"
#include "support/test_support.h"
#include "text/stream_decoder.h"
#include "text/tokenizer.h"

namespace ll::test {
namespace {

namespace fs = std::filesystem;

const char* const kTokenizers[] = {"llama3",
                                   "qwen2",
                                   "gpt2",
                                   "llama2",
                                   "llama2_metaspace",
                                   "stories260k",
                                   "seed_byte_level",
                                   "seed_metaspace",
                                   "seed_sentencepiece_style"};

struct Expected {
  std::vector<std::vector<int32_t>> ids, with_special;
  std::vector<std::string> decoded;
};

// What tokenizer_json.py built, once per test program.
struct Built {
  std::unique_ptr<TempDir> dir;
  std::vector<std::string> names, texts;
  std::string path(const std::string& tokenizer) const { return dir->file(tokenizer); }
  Expected expected(const std::string& tokenizer) const {
    const nlohmann::json j = read_json_file(path(tokenizer) + "/expected.json");
    return {j["ids"].get<std::vector<std::vector<int32_t>>>(),
            j["with_special"].get<std::vector<std::vector<int32_t>>>(), j["decoded"].get<std::vector<std::string>>()};
  }
};

std::string from_hex(const std::string& hex) {
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) bytes += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return bytes;
}

// Null (after a test failure) when the Python half failed.
const Built* built() {
  static const std::unique_ptr<Built> instance = [] {
    auto b = std::make_unique<Built>();
    b->dir = std::make_unique<TempDir>();
    if (!run_client("tokenizer_json.py", {b->dir->path(), shared_data_dir()})) return std::unique_ptr<Built>();
    const nlohmann::json texts = read_json_file(b->dir->file("texts.json"));
    b->names = texts["names"].get<std::vector<std::string>>();
    for (const auto& hex : texts["texts"]) b->texts.push_back(from_hex(hex.get<std::string>()));
    return b;
  }();
  return instance.get();
}

#define LL_REQUIRE_BUILT(b) \
  LL_REQUIRE_SHARED_DATA(); \
  LL_REQUIRE_CLIENTS();     \
  const Built* b = built(); \
  ASSERT_NE(b, nullptr) << "tokenizer_json.py failed"

std::string ids_text(const std::vector<int32_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? " " : "") + std::to_string(ids[i]);
  return s;
}

TEST(TokenizerJsonInterop, IdsAndTextEqualTheTokenizersLibrary) {
  LL_REQUIRE_BUILT(b);
  for (const char* name : kTokenizers) {
    SCOPED_TRACE(name);
    const auto tokenizer = load_tokenizer(b->path(name) + "/tokenizer.json");
    const Expected expected = b->expected(name);
    ASSERT_EQ(expected.ids.size(), b->texts.size());
    int mismatches = 0;
    for (size_t i = 0; i < b->texts.size() && mismatches < 3; ++i) {
      const std::vector<int32_t> ids = tokenizer->encode(b->texts[i], false);
      const bool same = ids == expected.ids[i] && tokenizer->encode(b->texts[i], true) == expected.with_special[i] &&
                        tokenizer->decode(ids) == expected.decoded[i];
      EXPECT_TRUE(same) << b->names[i] << ": " << ::testing::PrintToString(b->texts[i]).substr(0, 300)
                        << "\n  longlora:   " << ids_text(ids) << "\n  tokenizers: " << ids_text(expected.ids[i])
                        << "\n  decoded: "
                        << ::testing::PrintToString(tokenizer->decode(expected.ids[i])).substr(0, 300)
                        << "\n  expected: " << ::testing::PrintToString(expected.decoded[i]).substr(0, 300);
      mismatches += !same;
    }
  }
}

TEST(TokenizerJsonInterop, BosAndEosComeFromTheTemplateAndTokenizerConfig) {
  LL_REQUIRE_BUILT(b);
  const auto piece = [](const Tokenizer& t, int id) { return id < 0 ? std::string("none") : t.piece(id); };
  const std::pair<const char*, std::pair<std::string, std::string>> cases[] = {
      {"llama3", {"<|begin_of_text|>", "<|end_of_text|>"}},
      {"qwen2", {"none", "<|endoftext|>"}},
      {"gpt2", {"none", "<|endoftext|>"}},
      {"llama2", {"<s>", "</s>"}},
  };
  for (const auto& [name, special] : cases) {
    const auto tokenizer = load_tokenizer(b->path(name));
    EXPECT_EQ(piece(*tokenizer, tokenizer->bos_id()), special.first) << name;
    EXPECT_EQ(piece(*tokenizer, tokenizer->eos_id()), special.second) << name;
  }
}

// LLaMA-2's tokenizer.json and its tokenizer.model agree on text without special-token strings:
// the 46 reference tokenizations (SentencePiece's) come out of the tokenizer.json too.
TEST(TokenizerJsonInterop, Llama2TokenizerJsonGivesSentencePiecesIds) {
  LL_REQUIRE_BUILT(b);
  const std::string out = read_file(shared_path("tests/llama2-tokenizer-vectors.out"));
  std::istringstream lines(out);
  const auto tokenizer = load_tokenizer(b->path("llama2") + "/tokenizer.json");
  std::string line;
  for (size_t i = 0; std::getline(lines, line); ++i) {
    ASSERT_EQ(b->names[i], "reference " + std::to_string(i));
    std::istringstream ids(line);
    std::vector<int32_t> want;
    for (int32_t id; ids >> id;) want.push_back(id);
    EXPECT_EQ(tokenizer->encode(b->texts[i], false), want) << b->names[i];
  }
}

// Decoding gives back the text wherever no special-token string was turned into its token (for
// tokenizers without a normalizer that changes text, and whose decoder restores the spaces).
TEST(TokenizerJsonInterop, DecodingRoundTrips) {
  LL_REQUIRE_BUILT(b);
  for (const char* name : {"llama3", "llama2", "stories260k"}) {
    const auto tokenizer = load_tokenizer(b->path(name) + "/tokenizer.json");
    for (size_t i = 0; i < b->texts.size(); ++i) {
      const std::string& text = b->texts[i];
      const bool plain = b->names[i].rfind("random", 0) != 0 && b->names[i].rfind("malformed", 0) != 0 &&
                         text.find('<') == std::string::npos;
      if (!plain) continue;
      EXPECT_EQ(tokenizer->decode(tokenizer->encode(text, true)), text) << name << ", " << b->names[i];
    }
  }
}

// Streaming the ids of every text, and of random id sequences, prints exactly decode(ids).
TEST(TokenizerJsonInterop, StreamingDecoderPrintsTheDecodedText) {
  LL_REQUIRE_BUILT(b);
  std::mt19937 rng(5);
  for (const char* name : kTokenizers) {
    const auto tokenizer = load_tokenizer(b->path(name) + "/tokenizer.json");
    std::vector<std::vector<int32_t>> sequences;
    for (const std::string& text : b->texts) sequences.push_back(tokenizer->encode(text, true));
    std::uniform_int_distribution<int> any_id(0, tokenizer->vocab_size() - 1), length(0, 40);
    for (int i = 0; i < 300; ++i) {
      std::vector<int32_t> ids(length(rng));
      for (int32_t& id : ids) id = any_id(rng);
      sequences.push_back(ids);
    }
    for (const auto& ids : sequences) {
      const std::string whole = tokenizer->decode(ids);
      StreamingDecoder decoder(*tokenizer);
      std::string printed;
      for (int32_t id : ids) {
        printed += decoder.push(id);
        ASSERT_EQ(whole.compare(0, printed.size(), printed), 0) << name << ": printed text that later changed";
      }
      printed += decoder.finish();
      ASSERT_EQ(printed, whole) << name << ": " << ids_text(ids);
    }
  }
}

TEST(TokenizerJsonInterop, TokenizeCliReadsTokenizerJson) {
  LL_REQUIRE_BUILT(b);
  const size_t chapter = std::find(b->names.begin(), b->names.end(), "Persuasion, chapter 1") - b->names.begin();
  ASSERT_LT(chapter, b->names.size());
  TempDir dir;
  write_file(dir.file("chapter.txt"), b->texts[chapter]);
  for (const char* name : {"llama3", "qwen2", "llama2"}) {
    // The file itself, and the directory holding it.
    for (const std::string& path : {b->path(name) + "/tokenizer.json", b->path(name)}) {
      const auto r = run_cli({"tokenize", "--tokenizer", path, "--file", dir.file("chapter.txt"), "--bos"});
      ASSERT_EQ(r.status, 0) << r.err;
      EXPECT_EQ(r.out, ids_text(b->expected(name).with_special[chapter]) + "\n") << path;
    }
  }
}

// stories260K with a tokenizer.json instead of its tokenizer.model: the same ids, the same story.
TEST(TokenizerJsonInterop, ModelDirectoryWithOnlyTokenizerJsonWorks) {
  LL_REQUIRE_BUILT(b);
  TempDir dir;
  const std::string model = dir.file("stories260K-json");
  fs::create_directories(model);
  for (const char* file : {"config.json", "model.safetensors"})
    fs::copy_file(shared_path(std::string("stories260K-hf/") + file), model + "/" + file);
  for (const char* file : {"tokenizer.json", "tokenizer_config.json"})
    fs::copy_file(b->path("stories260k") + "/" + file, model + "/" + file);
  const std::string text = "Lily saw a big dog. \"Hello!\" she said, and 42 birds flew away.\n\nThe end.";
  for (const char* command : {"tokenize", "generate"}) {
    std::vector<std::string> args = {command, "--model", "", command == std::string("tokenize") ? "--text" : "--prompt",
                                     text};
    if (command == std::string("tokenize"))
      args.push_back("--bos");
    else
      args.insert(args.end(), {"--greedy", "-n", "60"});
    args[2] = model;
    const auto json_model = run_cli(args);
    args[2] = shared_path("stories260K-hf");
    const auto sentencepiece_model = run_cli(args);
    ASSERT_EQ(json_model.status, 0) << json_model.err;
    ASSERT_EQ(sentencepiece_model.status, 0) << sentencepiece_model.err;
    EXPECT_EQ(json_model.out, sentencepiece_model.out) << command;
  }
}

}  // namespace
}  // namespace ll::test
