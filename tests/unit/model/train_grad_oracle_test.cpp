// The training pass against PyTorch autograd: loss and the gradient of every trainable tensor
// (LoRA A/B on q/k/v/o, embedding, norms) of a tiny GQA LLaMA with odd sizes, for full attention
// and both S²-Attn forms, with and without gradient checkpointing, on a batch whose rows have
// different lengths.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>

#include "formats/safetensors_writer.h"
#include "formats/tensor_store.h"
#include "model/train_step.h"
#include "support/test_support.h"

namespace ll {
namespace {

struct GradCase {
  const char* name;
  AttentionMode mode;
  bool checkpointing;
  bool full = false;  // --full fine-tuning of a model with tied embeddings instead of LoRA+
  Precision precision = Precision::F32;
};

// What a case's loss and gradients may differ from PyTorch's f32 by (relative). f32: summation order
// only. bf16 compute rounds GEMM inputs, q/k/v, attention outputs and the layer inputs it keeps as
// checkpoints to bf16 (unit roundoff 2⁻⁹): measured, the loss moved by 4.6e-5 and the worst
// gradient by 1.35e-2 of its largest element (1.7e-2 in a --full bf16 run), so the bounds are 5e-4
// and 2⁻⁵ = 3.1e-2. A misread checkpoint moves gradients by O(1); that forward and recompute read the
// same bf16 values is Bf16Checkpoints' (bit-identical with and without checkpointing).
double loss_tolerance(Precision p) { return p == Precision::BF16 ? 5e-4 : 1e-4; }
double grad_tolerance(Precision p) { return p == Precision::BF16 ? 0x1p-5 : 1e-4; }

const char* oracle_mode(AttentionMode m) {
  return m == AttentionMode::Causal ? "full" : m == AttentionMode::S2Shift ? "flash" : "roll";
}

// max |a − b| / max |b| over a tensor.
double rel_err(const float* a, const float* b, int64_t n) {
  double diff = 0, ref = 0;
  for (int64_t i = 0; i < n; ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - b[i]));
    ref = std::max(ref, std::fabs(static_cast<double>(b[i])));
  }
  return diff / std::max(ref, 1e-30);
}

TrainBatch make_batch(int64_t V) {
  // Two rows of 23 slots; the second holds 17 tokens (the rest is padding without loss).
  TrainBatch batch;
  batch.layout = {2, 23, {23, 17}};
  std::mt19937 rng(11);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t t = 0; t < 23; ++t) batch.tokens.push_back(static_cast<int32_t>(rng() % V));
  batch.targets.assign(batch.tokens.size(), -100);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t t = 0; t + 1 < batch.layout.lengths[static_cast<size_t>(b)]; ++t)
      batch.targets[static_cast<size_t>(b * 23 + t)] = batch.tokens[static_cast<size_t>(b * 23 + t + 1)];
  return batch;
}

class TrainGradOracle : public ::testing::TestWithParam<GradCase> {};

TEST_P(TrainGradOracle, LossAndGradientsMatchPyTorch) {
  LL_REQUIRE_TORCH();
  const GradCase& c = GetParam();
  test::TempDir dir;
  std::vector<std::string> make_args = {dir.path(), "--seed", "21"};
  if (c.full) make_args.push_back("--tie");
  ASSERT_TRUE(test::run_oracle("make_tiny_llama.py", make_args));

  auto model = LlamaModel::open(dir.file("model"), ModelOptions{c.precision});
  TrainableOptions topt;  // LoRA r=8 on q/k/v/o + embed, norms
  topt.full = c.full;
  model->make_trainable(topt);
  // B starts at zero in a fresh adapter, which would make A's gradient vanish: give B values.
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.f, 0.05f);
  NamedTensors adapter;
  for (const LoraAdapter* a : model->lora_adapters()) {
    float* b = a->B.value.as<float>();
    for (int64_t i = 0; i < a->B.value.numel(); ++i) b[i] = nd(rng);
    adapter.push_back({a->name_A(), a->A.value});
    adapter.push_back({a->name_B(), a->B.value});
  }
  model->refresh_after_update();
  write_safetensors(dir.file("adapter.safetensors"), adapter);

  const TrainBatch batch = make_batch(model->config().vocab_size);
  OwnedTensor tokens(DType::I32, {2, 23}), targets(DType::I32, {2, 23}), lengths(DType::I32, {2});
  std::copy(batch.tokens.begin(), batch.tokens.end(), tokens.as<int32_t>());
  std::copy(batch.targets.begin(), batch.targets.end(), targets.as<int32_t>());
  lengths.as<int32_t>()[0] = 23;
  lengths.as<int32_t>()[1] = 17;
  write_safetensors(dir.file("batch.safetensors"),
                    {{"tokens", tokens.view()}, {"targets", targets.view()}, {"lengths", lengths.view()}});
  std::string trainable_json;
  for (const NamedParam& p : model->trainable_params())
    if (p.name.find("lora_") == std::string::npos) trainable_json += (trainable_json.empty() ? "\"" : ", \"") + p.name + "\"";
  std::ofstream(dir.file("options.json")) << "{\"mode\": \"" << oracle_mode(c.mode) << "\", \"group\": 0, \"lora_scale\": "
                                          << topt.lora.scale() << ", \"trainable\": [" << trainable_json << "]}";
  ASSERT_TRUE(test::run_oracle("train_grad_oracle.py", {dir.path()}));

  TrainPassOptions pass;
  pass.mask.mode = c.mode;
  pass.checkpointing = c.checkpointing;
  Arena arena;
  model->zero_grads();
  const LossSum loss = forward_backward(*model, batch, pass, arena);

  const TensorStore want = TensorStore::open_file(dir.file("grads.safetensors"));
  EXPECT_EQ(loss.count, 22 + 16);
  EXPECT_NEAR(loss.sum, want.get("loss_sum").as<float>()[0], loss_tolerance(c.precision) * std::fabs(loss.sum));
  // LoRA A,B × 4 × 2 layers, embed, norms; or --full: embed (= the tied lm_head), norms, 7 × 2 projections
  ASSERT_EQ(model->trainable_params().size(), c.full ? 1 + 2 * 9 + 1 : 4u * 2 * 2 + 1 + 2 * 2 + 1);
  double worst = 0;
  for (const NamedParam& p : model->trainable_params()) {
    const Tensor g = want.get(p.name);
    ASSERT_EQ(g.numel(), p.param->grad.numel()) << p.name;
    const double err = rel_err(p.param->grad_data(), g.as<float>(), g.numel());
    EXPECT_LT(err, grad_tolerance(c.precision)) << p.name;
    worst = std::max(worst, err);
  }
  std::printf("%s: loss rel err %.2e, worst gradient rel err %.2e\n", c.name,
              std::fabs(loss.sum - want.get("loss_sum").as<float>()[0]) / std::fabs(loss.sum), worst);

  // The forward-only pass gives the same loss (at bf16 its layer inputs are not rounded: within 2⁻⁸).
  const LossSum fwd = forward_loss(*model, batch, pass.mask, arena);
  EXPECT_NEAR(fwd.sum, loss.sum, (c.precision == Precision::BF16 ? 0x1p-8 : 1e-5) * std::fabs(loss.sum));
}

INSTANTIATE_TEST_SUITE_P(
    Modes, TrainGradOracle,
    ::testing::Values(GradCase{"full", AttentionMode::Causal, true}, GradCase{"full_no_ckpt", AttentionMode::Causal, false},
                      GradCase{"s2_flash", AttentionMode::S2Shift, true},
                      GradCase{"s2_flash_no_ckpt", AttentionMode::S2Shift, false},
                      GradCase{"s2_roll", AttentionMode::S2Roll, true},
                      GradCase{"full_finetune_tied", AttentionMode::S2Shift, true, /*full=*/true},
                      // bf16 compute with bf16 checkpoints (layer inputs, attention outputs)
                      GradCase{"s2_flash_bf16", AttentionMode::S2Shift, true, false, Precision::BF16}),
    [](const ::testing::TestParamInfo<GradCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace ll
