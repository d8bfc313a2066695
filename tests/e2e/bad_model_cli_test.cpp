// Damaged or wrong model files through the CLI: one clear message naming the file (and field),
// exit status 2, never a crash.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/test_support.h"

namespace ll {
namespace {

namespace fs = std::filesystem;

// A copy of the real stories260K HF directory that a test may damage.
std::string copy_of_stories_hf(const test::TempDir& dir) {
  const std::string model = dir.file("model");
  fs::copy(test::shared_path("stories260K-hf"), model);
  for (const auto& e : fs::directory_iterator(model)) fs::permissions(e.path(), fs::perms::owner_write, fs::perm_options::add);
  return model;
}

void expect_clean_failure(const std::vector<std::string>& args, const std::string& must_name) {
  const auto r = test::run_cli(args);
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find(must_name), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
}

TEST(BadModelCli, TruncatedSafetensors) {
  LL_REQUIRE_SHARED_DATA();
  test::TempDir dir;
  const std::string model = copy_of_stories_hf(dir);
  fs::resize_file(model + "/model.safetensors", 5000);
  expect_clean_failure({"generate", "--model", model, "--prompt", "hi"}, "model.safetensors");
}

TEST(BadModelCli, HeaderLengthPastEndOfFile) {
  LL_REQUIRE_SHARED_DATA();
  test::TempDir dir;
  const std::string model = copy_of_stories_hf(dir);
  std::string bytes = test::read_file(model + "/model.safetensors");
  bytes[5] = '\x7f';  // header length ≈ 2^47
  test::write_file(model + "/model.safetensors", bytes);
  expect_clean_failure({"info", "--model", model}, "model.safetensors");
}

TEST(BadModelCli, MalformedAndNonLlamaConfig) {
  LL_REQUIRE_SHARED_DATA();
  test::TempDir dir;
  const std::string model = copy_of_stories_hf(dir);
  test::write_file(model + "/config.json", "{\"model_type\": \"llama\", \"hidden_size\": ");
  expect_clean_failure({"info", "--model", model}, "config.json");
  test::write_file(model + "/config.json", "{\"model_type\": \"gpt2\", \"n_embd\": 64}");
  expect_clean_failure({"generate", "--model", model, "--prompt", "x"}, "config.json");
}

TEST(BadModelCli, WrongShapeInConfig) {
  LL_REQUIRE_SHARED_DATA();
  test::TempDir dir;
  const std::string model = copy_of_stories_hf(dir);
  std::string cfg = test::read_file(model + "/config.json");
  cfg.replace(cfg.find("\"intermediate_size\": 172"), 24, "\"intermediate_size\": 173");
  test::write_file(model + "/config.json", cfg);
  expect_clean_failure({"generate", "--model", model, "--prompt", "x"}, "gate_proj");
}

TEST(BadModelCli, GgufWithBadMagicOrVersion) {
  LL_REQUIRE_SHARED_DATA();
  test::TempDir dir;
  std::string bytes = test::read_file(test::shared_path("stories260K.gguf"));
  bytes[0] = 'X';
  test::write_file(dir.file("bad_magic.gguf"), bytes);
  expect_clean_failure({"info", "--model", dir.file("bad_magic.gguf")}, "bad_magic.gguf");
  bytes[0] = 'G';
  bytes[4] = 9;  // version 9
  test::write_file(dir.file("bad_version.gguf"), bytes);
  expect_clean_failure({"generate", "--model", dir.file("bad_version.gguf"), "--prompt", "x"}, "bad_version.gguf");
}

TEST(BadModelCli, ImpossibleOptions) {
  LL_REQUIRE_SHARED_DATA();
  const std::string model = test::shared_path("stories260K.gguf");
  expect_clean_failure({"generate", "--model", model, "--prompt", "x", "--dtype", "fp8"}, "--dtype");
  expect_clean_failure({"generate", "--model", model, "--prompt", "x", "--top-p", "1.5"}, "--top-p");
  expect_clean_failure({"generate", "--model", model, "--prompt", "x", "-n", "many"}, "--max-tokens");
  expect_clean_failure({"generate", "--model", model, "--prompt", "x", "--prompt-file", "f"}, "--prompt");
}

}  // namespace
}  // namespace ll
