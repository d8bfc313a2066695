// What checkpointing keeps and recomputes (model/train_step.h). bf16 checkpoints: at bf16 compute the
// training pass keeps the layer inputs and the attention outputs in bf16; the forward reads the layer
// inputs as kept, and the attention output is bf16 already, so recomputing from the checkpoints
// reproduces the forward exactly: checkpointing changes no gradient, bit for bit, whether it keeps
// the attention outputs or recomputes them too (--recompute-attention) (the gradients' distance from
// PyTorch's f32 ones is TrainGradOracle's bf16 case). And the MLP over chunks of rows
// gives the gradients of the whole MLP.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "model/train_step.h"
#include "support/test_support.h"

namespace ll {
namespace {

TrainBatch random_batch(int64_t V) {
  TrainBatch batch;
  batch.layout = {2, 96, {96, 71}};
  std::mt19937 rng(5);
  for (int64_t i = 0; i < 2 * 96; ++i) batch.tokens.push_back(static_cast<int32_t>(1 + rng() % (V - 1)));
  batch.targets.assign(batch.tokens.size(), -100);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t t = 0; t + 1 < batch.layout.lengths[static_cast<size_t>(b)]; ++t)
      batch.targets[static_cast<size_t>(b * 96 + t)] = batch.tokens[static_cast<size_t>(b * 96 + t + 1)];
  return batch;
}

// Gradients of every trainable tensor after one pass, in trainable_params() order.
struct Checkpointing {
  bool on = true;
  bool keep_attention = true;
};

std::vector<std::vector<float>> gradients(LlamaModel& model, const TrainBatch& batch, Checkpointing checkpointing,
                                          double* loss, int64_t mlp_chunk = kMlpChunkRows) {
  TrainPassOptions pass;
  pass.mask.mode = AttentionMode::S2Shift;
  pass.checkpointing = checkpointing.on;
  pass.keep_attention = checkpointing.keep_attention;
  pass.mlp_chunk = mlp_chunk;
  Arena arena(model.backend(), 0);
  model.zero_grads();
  *loss = forward_backward(model, batch, pass, arena).sum;
  std::vector<std::vector<float>> out;
  for (const NamedParam& p : model.trainable_params())
    out.emplace_back(p.param->grad_data(), p.param->grad_data() + p.param->grad.numel());
  return out;
}

// stories260K made trainable (LoRA+ on `targets`), with random LoRA B (a fresh adapter's B is zero,
// which would make A's gradient vanish).
std::unique_ptr<LlamaModel> trainable_stories(Precision p, std::vector<std::string> targets) {
  ModelOptions options;
  options.precision = p;
  auto model = LlamaModel::open(test::shared_path("stories260K-hf"), options);
  TrainableOptions t;
  t.lora.targets = std::move(targets);
  model->make_trainable(t);
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.f, 0.05f);
  for (const LoraAdapter* a : model->lora_adapters()) {
    float* b = a->B.value.as<float>();
    for (int64_t i = 0; i < a->B.value.numel(); ++i) b[i] = nd(rng);
  }
  model->refresh_after_update();
  return model;
}

TEST(Bf16Checkpoints, CheckpointingChangesNoGradient) {
  LL_REQUIRE_SHARED_DATA();
  for (Precision p : {Precision::BF16, Precision::F32}) {
    SCOPED_TRACE(precision_name(p));
    auto model = trainable_stories(p, TrainableOptions{}.lora.targets);
    const TrainBatch batch = random_batch(model->config().vocab_size);
    double loss_kept = 0;
    const auto kept = gradients(*model, batch, {false, false}, &loss_kept);
    for (const Checkpointing mode : {Checkpointing{true, true}, Checkpointing{true, false}}) {
      SCOPED_TRACE(mode.keep_attention ? "inputs and attention kept" : "inputs kept, attention recomputed");
      double loss_recomputed = 0;
      const auto recomputed = gradients(*model, batch, mode, &loss_recomputed);
      EXPECT_EQ(loss_recomputed, loss_kept);
      for (size_t i = 0; i < kept.size(); ++i) {
        const std::string& name = model->trainable_params()[i].name;
        ASSERT_EQ(recomputed[i].size(), kept[i].size()) << name;
        size_t differ = 0;
        for (size_t j = 0; j < kept[i].size(); ++j) differ += recomputed[i][j] != kept[i][j];
        EXPECT_EQ(differ, 0u) << name;
      }
    }
  }
}

// The MLP over chunks of rows (checkpointing's; its backward recomputes gate/up and act chunk by
// chunk, LoRA t included): the gradients of the whole-MLP pass, within f32 summation-order error,
// with LoRA on every projection (q/k/v/o and gate/up/down) and 192 rows in ragged chunks of 7.
TEST(Bf16Checkpoints, MlpOverChunksOfRowsGivesTheWholeMlpGradients) {
  LL_REQUIRE_SHARED_DATA();
  auto model = trainable_stories(Precision::F32, {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                                  "down_proj"});
  const TrainBatch batch = random_batch(model->config().vocab_size);
  double loss_whole = 0, loss_chunks = 0;
  const auto whole = gradients(*model, batch, {}, &loss_whole, /*mlp_chunk=*/0);
  const auto chunks = gradients(*model, batch, {}, &loss_chunks, /*mlp_chunk=*/7);
  EXPECT_NEAR(loss_chunks, loss_whole, 1e-6 * loss_whole);
  for (size_t i = 0; i < whole.size(); ++i) {
    const std::string& name = model->trainable_params()[i].name;
    double diff = 0, ref = 0;
    for (size_t j = 0; j < whole[i].size(); ++j) {
      diff = std::max(diff, std::fabs(double(chunks[i][j]) - whole[i][j]));
      ref = std::max(ref, std::fabs(double(whole[i][j])));
    }
    EXPECT_GT(ref, 0) << name;
    EXPECT_LE(diff, 1e-5 * ref) << name;
  }
}

}  // namespace
}  // namespace ll
