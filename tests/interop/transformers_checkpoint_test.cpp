// Checkpoints written by transformers itself (tests/interop/transformers_checkpoints.py: LlamaForCausalLM from
// a config with GQA, one untied and one tied, random weights with a fixed seed, save_pretrained as
// safetensors and as pytorch_model.bin, single and sharded, in f32, and in bf16 and f16) load in longlora —
// the library and the CLI — and give transformers' logits (both computing in f32).
#include <gtest/gtest.h>

#include "formats/model_files.h"
#include "formats/tensor_store.h"
#include "interop/transformers_util.h"
#include "support/test_support.h"

namespace ll {
namespace {

TEST(TransformersCheckpoints, EveryLayoutLoadsWithTransformersLogits) {
  LL_REQUIRE_CLIENTS();
  test::TempDir dir;
  ASSERT_TRUE(test::run_client("transformers_checkpoints.py", {dir.path()}));

  struct Saved {
    std::string name;
    DType stored;
  };
  std::vector<Saved> saved = {{"gqa-bf16-safetensors", DType::BF16}, {"gqa-f16-bin", DType::F16}};
  for (const std::string config : {"gqa", "tied"})
    for (const std::string layout : {"safetensors", "bin", "safetensors-sharded", "bin-sharded"})
      saved.push_back({config + "-" + layout, DType::F32});
  for (const Saved& s : saved) {
    const std::string path = dir.file(s.name);
    SCOPED_TRACE(path);
    const TensorStore expected = TensorStore::open_file(path + ".expected.safetensors");
    const Tensor tokens = expected.get("tokens"), logits = expected.get("logits");
    const std::vector<int32_t> ids(tokens.as<int32_t>(), tokens.as<int32_t>() + tokens.numel());
    ModelOptions options;
    options.precision = Precision::F32;
    const auto model = LlamaModel::open(path, options);
    EXPECT_EQ(model->files().weight_dtype(), s.stored);
    EXPECT_EQ(model->config().tie_word_embeddings, s.name.starts_with("tied"));
    EXPECT_LT(model->config().num_kv_heads, model->config().num_heads);
    const std::vector<float> got = test::model_logits(*model, ids, tokens.shape[0]);
    EXPECT_LT(test::max_relative_error(got, logits.as<float>(), static_cast<size_t>(logits.numel())), 1e-4);

    const test::CliResult info = test::run_cli({"info", "--model", path});
    EXPECT_EQ(info.status, 0) << info.err;
  }
}

}  // namespace
}  // namespace ll
