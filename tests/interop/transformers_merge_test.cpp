// `longlora merge` output as transformers loads it: a short real LoRA+ run on stories260K (trained at 512) at
// context 1024, merged; AutoModelForCausalLM.from_pretrained on the merged directory (via
// tests/interop/transformers_logits.py) gives the logits longlora computes for the run, on a 1024-token prompt:
// so the rope_scaling the merge records (linear, factor ceil(1024 / 512) = 2) is what transformers applies.
// Both a single model.safetensors and a sharded merge (index + shards) load.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "formats/tensor_store.h"
#include "interop/transformers_util.h"
#include "model/adapter.h"
#include "support/test_support.h"

namespace ll {
namespace {

ModelOptions f32_at_factor(double rope_factor) {
  ModelOptions o;
  o.precision = Precision::F32;
  o.rope_factor = rope_factor;
  return o;
}

TEST(TransformersMerge, MergedRunLoadsWithRopeScalingAndEqualLogits) {
  LL_REQUIRE_SHARED_DATA();
  LL_REQUIRE_CLIENTS();
  test::TempDir dir;
  const std::string base = test::shared_path("stories260K-hf");
  const std::string run = dir.file("run");
  const test::CliResult train = test::run_cli(
      {"train", "--model", base, "--data", test::shared_path("tests/austen-all.tok512.u16.bin"), "--context", "1024",
       "--out", run, "--max-steps", "2", "--grad-accum", "1", "--lr", "1e-3", "--warmup-steps", "0"});
  ASSERT_EQ(train.status, 0) << train.err;
  // One model.safetensors, and shards of at most 200 kB with their index (as a 7B model's 5 GB shards).
  const std::vector<std::pair<std::string, std::vector<std::string>>> merges = {
      {dir.file("merged"), {}}, {dir.file("merged-sharded"), {"--max-shard-size", "200000"}}};
  for (const auto& [merged, flags] : merges) {
    std::vector<std::string> args = {"merge", "--model", base, "--adapter", run, "--out", merged};
    args.insert(args.end(), flags.begin(), flags.end());
    const test::CliResult merge = test::run_cli(args);
    ASSERT_EQ(merge.status, 0) << merge.err;
    const auto config = nlohmann::json::parse(test::read_file(merged + "/config.json"));
    EXPECT_EQ(config["rope_scaling"]["type"], "linear");
    EXPECT_EQ(config["rope_scaling"]["factor"], 2.0);
  }
  ASSERT_TRUE(std::filesystem::exists(dir.file("merged-sharded/model.safetensors.index.json")));

  // A prompt of 1024 tokens: twice the base's trained context.
  const std::string prompt = test::shared_path("tests/austen-1024.tok512.u16.bin");
  const std::vector<int32_t> tokens = test::read_u16_tokens(prompt);
  ASSERT_EQ(tokens.size(), 1024u);
  std::string out;
  ASSERT_TRUE(test::run_client("transformers_logits.py", {prompt, dir.file("merged"), dir.file("hf.safetensors"),
                                                          dir.file("merged-sharded"), dir.file("hf-sharded.safetensors")},
                               &out));
  EXPECT_NE(out.find("'factor': 2.0"), std::string::npos) << out;
  const TensorStore hf_store = TensorStore::open_file(dir.file("hf.safetensors"));
  const TensorStore hf_sharded_store = TensorStore::open_file(dir.file("hf-sharded.safetensors"));
  const Tensor hf = hf_store.get("logits");
  const size_t n = static_cast<size_t>(hf.numel());

  // The run as longlora applies it unmerged (eval/generate --adapter RUN), at the factor it trained with.
  const AdapterFiles files = locate_adapter(run);
  EXPECT_EQ(files.rope_factor, 2.0);
  const auto trained = LlamaModel::open(base, f32_at_factor(files.rope_factor));
  apply_adapter(*trained, files);
  const std::vector<float> ours = test::model_logits(*trained, tokens, 1);
  EXPECT_LT(test::max_relative_error(ours, hf.as<float>(), n), 1e-4);
  EXPECT_LT(test::max_relative_error(ours, hf_sharded_store.get("logits").as<float>(), n), 1e-4);
  // The merged directory as longlora loads it.
  const auto reloaded = LlamaModel::open(dir.file("merged"), f32_at_factor(0));
  EXPECT_EQ(reloaded->config().rope_factor, 2.0);
  EXPECT_LT(test::max_relative_error(test::model_logits(*reloaded, tokens, 1), hf.as<float>(), n), 1e-4);

  // The check can fail: without the recorded factor, or without the training, the logits differ.
  const auto unscaled = LlamaModel::open(dir.file("merged"), f32_at_factor(1));
  EXPECT_GT(test::max_relative_error(test::model_logits(*unscaled, tokens, 1), hf.as<float>(), n), 1e-2);
  const auto untrained = LlamaModel::open(base, f32_at_factor(2));
  EXPECT_GT(test::max_relative_error(test::model_logits(*untrained, tokens, 1), hf.as<float>(), n), 1e-3);
}

}  // namespace
}  // namespace ll
