// The real pretrained stories260K LLaMA (../shared/data): greedy generation from BOS against
// the PyTorch oracle, from the HF directory and from the GGUF file (whose q/k rows come in the
// interleaved layout and are converted at load).
#include <gtest/gtest.h>

#include <sstream>

#include "eval/generate.h"
#include "support/test_support.h"

namespace ll {
namespace {

std::vector<int32_t> greedy_ids(const std::string& model_path, int64_t n) {
  auto model = LlamaModel::open(model_path, ModelOptions{});
  GenerateOptions opts;
  opts.max_new_tokens = n;
  opts.sampling.greedy = true;
  opts.stop_at_eos = false;
  return generate(*model, {1}, opts, nullptr);
}

TEST(Stories260K, GreedyFromBosMatchesPyTorchOver200Tokens) {
  LL_REQUIRE_SHARED_DATA();
  LL_REQUIRE_TORCH();
  const int64_t n = 200;
  test::TempDir dir;
  ASSERT_TRUE(test::run_oracle("greedy_reference.py", {test::shared_path("stories260K-hf"), std::to_string(n),
                                                         dir.file("ids.txt")}));
  std::istringstream in(test::read_file(dir.file("ids.txt")));
  std::vector<int32_t> want;
  for (int32_t id; in >> id;) want.push_back(id);
  ASSERT_EQ(static_cast<int64_t>(want.size()), n);

  EXPECT_EQ(greedy_ids(test::shared_path("stories260K-hf"), n), want) << "HF directory";
  EXPECT_EQ(greedy_ids(test::shared_path("stories260K.gguf"), n), want) << "GGUF file";
}

}  // namespace
}  // namespace ll
