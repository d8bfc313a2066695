// Token files need no tokenizer (issue 12, defect 3): a model directory without tokenizer.model
// trains on a .bin token file and is evaluated on one; text data still need the tokenizer and say
// so (exit 2).
#include <gtest/gtest.h>

#include <filesystem>

#include "support/test_support.h"

namespace ll {
namespace {

namespace fs = std::filesystem;

TEST(TokenDataCli, TrainAndEvalOnTokenFilesWithoutATokenizer) {
  LL_REQUIRE_SHARED_DATA();
  test::TempDir dir;
  const std::string model = dir.file("bare"), tokens = test::shared_path("tests/austen-1024.tok512.u16.bin");
  fs::create_directories(model);
  for (const char* f : {"config.json", "model.safetensors"})
    fs::copy_file(test::shared_path(std::string("stories260K-hf/") + f), model + "/" + f);

  const auto train = test::run_cli({"train", "--model", model, "--data", tokens, "--context", "128", "--max-steps", "2",
                                    "--grad-accum", "1", "--out", dir.file("run"), "--threads", "2"});
  EXPECT_EQ(train.status, 0) << train.err;
  EXPECT_TRUE(fs::exists(dir.file("run/adapter/adapter_model.safetensors")));
  const auto eval = test::run_cli(
      {"eval", "--model", model, "--adapter", dir.file("run"), "--data", tokens, "--context", "128", "--threads", "2"});
  EXPECT_EQ(eval.status, 0) << eval.err;

  // Text is tokenized, so it needs the tokenizer.
  test::write_file(dir.file("story.txt"), "Once upon a time there was a little girl named Lily.\n");
  const std::string text = dir.file("story.txt");
  const auto text_train = test::run_cli({"train", "--model", model, "--data", text, "--context", "8", "--max-steps",
                                         "1", "--out", dir.file("text_run"), "--threads", "2"});
  EXPECT_EQ(text_train.status, 2) << text_train.err;
  EXPECT_NE(text_train.err.find("no tokenizer: " + model), std::string::npos) << text_train.err;
  const auto text_eval = test::run_cli({"eval", "--model", model, "--data", text, "--context", "8"});
  EXPECT_EQ(text_eval.status, 2) << text_eval.err;
  EXPECT_NE(text_eval.err.find("no tokenizer: " + model), std::string::npos) << text_eval.err;
}

}  // namespace
}  // namespace ll
