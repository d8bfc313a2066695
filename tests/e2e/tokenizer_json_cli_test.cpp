// tokenizer.json through the binary, with the tokenizer_json fuzz seed (a small byte-level BPE
// shaped like Llama 3's; the ids below are the tokenizers library's): tokenize, init, generate, and
// exit status 2 for a broken file.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/test_support.h"

namespace ll {
namespace {

namespace fs = std::filesystem;

std::string seed() { return test::source_dir() + "/fuzz/corpus/tokenizer_json/byte_level.json"; }

TEST(TokenizerJsonCli, TokenizeReadsTokenizerJson) {
  const auto r =
      test::run_cli({"tokenize", "--tokenizer", seed(), "--text", "Hello world, it'S 12 <mask>  x", "--bos"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "266 259 262 263 44 32 105 116 264 32 265 268 32 32 120\n");
}

TEST(TokenizerJsonCli, BrokenTokenizerJsonExitsWithStatus2) {
  test::TempDir dir;
  std::string text = test::read_file(seed());
  text.replace(text.find("\"Isolated\""), 10, "\"Removed\"");
  test::write_file(dir.file("tokenizer.json"), text);
  const auto r = test::run_cli({"tokenize", "--tokenizer", dir.path(), "--text", "x"});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find(dir.file("tokenizer.json") + ": pre_tokenizer.pretokenizers[0].behavior: expected \"Isolated\""),
            std::string::npos)
      << r.err;
}

// init copies the tokenizer.json (and the tokenizer_config.json beside it) into the new model,
// which then tokenizes and generates with it.
TEST(TokenizerJsonCli, InitCopiesTokenizerJsonIntoTheModel) {
  test::TempDir dir;
  fs::create_directories(dir.file("tok"));
  fs::copy_file(seed(), dir.file("tok/tokenizer.json"));
  test::write_file(dir.file("tok/tokenizer_config.json"), R"({"eos_token": "</s>"})");
  const std::string model = dir.file("model");
  const auto init = test::run_cli({"init", "--tokenizer", dir.file("tok/tokenizer.json"), "--out", model, "--hidden",
                                   "32", "--layers", "1", "--heads", "2", "--context", "64"});
  ASSERT_EQ(init.status, 0) << init.err;
  EXPECT_TRUE(fs::exists(model + "/tokenizer.json"));
  EXPECT_TRUE(fs::exists(model + "/tokenizer_config.json"));
  EXPECT_FALSE(fs::exists(model + "/tokenizer.model"));
  const std::string config = test::read_file(model + "/config.json");
  EXPECT_NE(config.find("\"vocab_size\": 269"), std::string::npos) << config;
  EXPECT_NE(config.find("\"eos_token_id\": 267"), std::string::npos) << config;

  const auto tokenize = test::run_cli({"tokenize", "--model", model, "--text", "Hello world", "--bos", "--eos"});
  ASSERT_EQ(tokenize.status, 0) << tokenize.err;
  EXPECT_EQ(tokenize.out, "266 259 262 263 267\n");
  const auto generate = test::run_cli({"generate", "--model", model, "--prompt", "Hello", "-n", "8", "--greedy"});
  EXPECT_EQ(generate.status, 0) << generate.err;

  // A GGUF vocabulary is no file to copy.
  if (!test::shared_data_dir().empty()) {
    const auto gguf =
        test::run_cli({"init", "--tokenizer", test::shared_path("stories260K.gguf"), "--out", dir.file("m2")});
    EXPECT_EQ(gguf.status, 2);
    EXPECT_NE(gguf.err.find("a GGUF vocabulary is not a tokenizer file to copy"), std::string::npos) << gguf.err;
    EXPECT_FALSE(fs::exists(dir.file("m2")));
  }
}

}  // namespace
}  // namespace ll
