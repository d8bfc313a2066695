// The optimizer side of a training step against PyTorch (tests/reference/train_oracle.py):
// gradient accumulation over micro-batches, clip_grad_norm_, HF's LambdaLR schedules and
// torch.optim.AdamW, 5 updates with warm-up 3 on tensors of odd shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>

#include "formats/safetensors_writer.h"
#include "formats/tensor_store.h"
#include "support/test_support.h"
#include "train/optimizer.h"
#include "train/schedule.h"

namespace ll {
namespace {

constexpr int kSteps = 5, kAccum = 3;

uint32_t bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}

// Counts the elements of `got` whose bits differ from `want`'s.
int64_t bit_mismatches(const float* got, const Tensor& want) {
  int64_t n = 0;
  for (int64_t i = 0; i < want.numel(); ++i) n += bits(got[i]) != bits(want.as<float>()[i]);
  return n;
}

struct OracleRun {
  const char* schedule;
  double max_grad_norm;
};

class OptimizerOracle : public ::testing::TestWithParam<OracleRun> {};

TEST_P(OptimizerOracle, AccumulateClipScheduleAdamWMatchPyTorchBitForBit) {
  LL_REQUIRE_TORCH();
  const OracleRun run = GetParam();
  const AdamWSettings adamw{.lr = 1e-2, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01};
  const ScheduleOptions schedule{parse_lr_schedule(run.schedule), adamw.lr, /*warmup=*/3, /*total=*/kSteps};

  // Parameters of odd shapes; per-step gradient magnitudes that put the global norm above the
  // clipping threshold in steps 0, 2, 4 and below it in steps 1, 3.
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  const std::vector<std::vector<int64_t>> shapes = {{37}, {5, 13}, {3, 7}};
  const float magnitude[kSteps] = {400.f, 5.f, 300.f, 1.f, 200.f};
  // Two copies of the parameters: `exact` clips with PyTorch's total_norm (so every other
  // operation can be checked bit for bit), `own` runs clip_grad_norm as the trainer does.
  TrainableStore exact, own;
  for (TrainableStore* store : {&exact, &own}) {
    for (size_t i = 0; i < shapes.size(); ++i)
      store->declare("p" + std::to_string(i), shapes[i].data(), static_cast<int>(shapes[i].size()));
    store->allocate(cpu_backend());
  }
  std::vector<OwnedTensor> data;  // w per (step, micro-batch, param)
  NamedTensors inputs;
  for (size_t i = 0; i < shapes.size(); ++i) {
    for (int64_t e = 0; e < exact.value(i).numel(); ++e) exact.value(i).as<float>()[e] = own.value(i).as<float>()[e] = u(rng);
    inputs.emplace_back("init." + std::to_string(i), exact.value(i));
  }
  std::vector<std::vector<std::vector<const float*>>> w(kSteps, std::vector<std::vector<const float*>>(kAccum));
  for (int s = 0; s < kSteps; ++s)
    for (int k = 0; k < kAccum; ++k)
      for (size_t i = 0; i < shapes.size(); ++i) {
        data.emplace_back(DType::F32, shapes[i].data(), static_cast<int>(shapes[i].size()));
        for (int64_t e = 0; e < data.back().numel(); ++e) data.back().as<float>()[e] = magnitude[s] * u(rng);
        w[s][k].push_back(data.back().as<float>());
        inputs.emplace_back("w." + std::to_string(s) + "." + std::to_string(k) + "." + std::to_string(i),
                            data.back().view());
      }
  OwnedTensor counts(DType::I32, {kSteps, kAccum});
  std::uniform_int_distribution<int32_t> count_dist(50, 200);
  for (int64_t e = 0; e < counts.numel(); ++e) counts.as<int32_t>()[e] = count_dist(rng);
  inputs.emplace_back("counts", counts.view());

  test::TempDir dir;
  write_safetensors(dir.file("in.safetensors"), inputs);
  char num[7][32];
  for (int j = 0; j < 7; ++j) {
    const double v[] = {adamw.lr, adamw.beta1, adamw.beta2, adamw.eps, adamw.weight_decay, run.max_grad_norm, 0};
    std::snprintf(num[j], sizeof num[j], "%.17g", v[j]);
  }
  ASSERT_TRUE(test::run_oracle("train_oracle.py", {dir.file("in.safetensors"), dir.file("out"), std::to_string(kSteps),
                                                   std::to_string(kAccum), num[0], num[1], num[2], num[3], num[4], "3",
                                                   std::to_string(kSteps), run.schedule, num[5]}));
  const TensorStore want = TensorStore::open_file(dir.file("out.safetensors"));
  const auto oracle = nlohmann::json::parse(test::read_file(dir.file("out.json")));

  Backend& cpu = cpu_backend();
  AdamWOptimizer exact_opt(cpu, exact, adamw), own_opt(cpu, own, adamw);
  // Each micro-batch's backward adds grad_scale · w (grad_scale = 1 / (count · accum), as the
  // trainer sets it) to the accumulated gradient.
  auto accumulate = [&](TrainableStore& store, int s) {
    cpu.fill_zero(store.grads(), static_cast<size_t>(store.elements()) * sizeof(float));
    for (int k = 0; k < kAccum; ++k) {
      const float grad_scale = static_cast<float>(1.0 / (static_cast<double>(counts.as<int32_t>()[s * kAccum + k]) * kAccum));
      for (size_t i = 0; i < shapes.size(); ++i)
        for (int64_t e = 0; e < store.grad(i).numel(); ++e) store.grad(i).as<float>()[e] += grad_scale * w[s][k][i][e];
    }
  };
  int clipped_steps = 0, exact_norms = 0;
  double worst_own_rel = 0;
  for (int s = 0; s < kSteps; ++s) {
    accumulate(exact, s);
    accumulate(own, s);
    const float torch_norm = oracle["grad_norm"][s].get<float>();
    const float norm = global_grad_norm(cpu, exact);
    exact_norms += bits(norm) == bits(torch_norm);
    EXPECT_LE(std::abs(static_cast<int64_t>(bits(norm)) - static_cast<int64_t>(bits(torch_norm))), 2)
        << "step " << s << ": grad norm " << norm << " vs PyTorch " << torch_norm;
    if (run.max_grad_norm > 0) {
      const float coef = clip_coefficient(torch_norm, run.max_grad_norm);
      clipped_steps += coef < 1.0f;
      if (coef != 1.0f) scale_grads(cpu, exact, coef);
    }
    EXPECT_EQ(bits(clip_grad_norm(cpu, own, run.max_grad_norm)), bits(norm));

    const double lr = learning_rate(schedule, exact_opt.steps_done());
    EXPECT_EQ(lr, oracle["lr"][s].get<double>()) << "step " << s;
    exact_opt.step(lr);
    own_opt.step(lr);
    for (size_t i = 0; i < shapes.size(); ++i) {
      const std::string at = std::to_string(s) + "." + std::to_string(i);
      const Tensor want_param = want.get("param." + at);
      EXPECT_EQ(bit_mismatches(exact.value(i).as<float>(), want_param), 0) << "param " << at;
      EXPECT_EQ(bit_mismatches(exact.m(i).as<float>(), want.get("exp_avg." + at)), 0) << "exp_avg " << at;
      EXPECT_EQ(bit_mismatches(exact.v(i).as<float>(), want.get("exp_avg_sq." + at)), 0) << "exp_avg_sq " << at;
      for (int64_t e = 0; e < want_param.numel(); ++e)
        worst_own_rel = std::max(worst_own_rel, std::abs(static_cast<double>(own.value(i).as<float>()[e]) - want_param.as<float>()[e]) /
                                                    std::abs(static_cast<double>(want_param.as<float>()[e])));
    }
  }
  if (run.max_grad_norm > 0) {
    EXPECT_EQ(clipped_steps, 3) << "the data should clip in 3 of the 5 steps";
  }
  // With its own norm (≤ 2 ulp from torch's) the trajectory stays within float rounding of PyTorch's.
  EXPECT_LT(worst_own_rel, 1e-5);
  std::printf("[ report   ] %s: grad norm bit-identical to PyTorch in %d of %d steps; params/m/v bit-identical given "
              "torch's norm; own-norm trajectory max rel diff %.2e\n",
              run.schedule, exact_norms, kSteps, worst_own_rel);

  // The schedule factors of all three HF schedules, warm-up 3 of 5 steps, through the end and past it.
  for (const char* name : {"constant_with_warmup", "linear", "cosine"}) {
    const ScheduleOptions sch{parse_lr_schedule(name), 1.0, 3, kSteps};
    const auto& factors = oracle["schedules"][name];
    for (size_t step = 0; step < factors.size(); ++step)
      EXPECT_EQ(lr_factor(sch, static_cast<int64_t>(step)), factors[step].get<double>()) << name << " step " << step;
  }
}

// HF Trainer decays every trained tensor but the norm weights and biases (Trainer.get_decay_parameter_names);
// transformers_trainer_test checks the effect against Trainer itself.
TEST(AdamWOptimizer, WeightDecaySkipsNormsAsHfTrainerDoes) {
  for (const char* name : {"model.layers.0.input_layernorm.weight", "model.layers.3.post_attention_layernorm.weight",
                           "model.norm.weight", "model.layers.0.self_attn.q_proj.bias"})
    EXPECT_FALSE(takes_weight_decay(name)) << name;
  for (const char* name : {"model.embed_tokens.weight", "lm_head.weight", "model.layers.0.mlp.down_proj.weight",
                           "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
                           "base_model.model.model.layers.0.self_attn.o_proj.lora_B.weight", "weight"})
    EXPECT_TRUE(takes_weight_decay(name)) << name;

  // With zero gradients only the decay moves a parameter: the projection shrinks, the norm stays.
  // The store lays the decaying projection out first, the norm after it.
  TrainableStore store;
  const int64_t shape[] = {3};
  store.declare("model.layers.0.input_layernorm.weight", shape, 1);
  store.declare("model.layers.0.mlp.up_proj.weight", shape, 1);
  store.allocate(cpu_backend());
  for (size_t i = 0; i < 2; ++i) std::fill(store.value(i).as<float>(), store.value(i).as<float>() + 3, 2.0f);
  AdamWOptimizer opt(cpu_backend(), store, AdamWSettings{.weight_decay = 0.1});
  opt.step(0.5);
  EXPECT_EQ(store.value(0).as<float>()[0], 2.0f);
  EXPECT_FLOAT_EQ(store.value(1).as<float>()[0], 2.0f * (1 - 0.5f * 0.1f));
  EXPECT_EQ(store.slots()[1].offset, 0);
}

INSTANTIATE_TEST_SUITE_P(Runs, OptimizerOracle,
                         ::testing::Values(OracleRun{"constant_with_warmup", 1.0}, OracleRun{"cosine", 1.0},
                                           OracleRun{"linear", 0.0}),
                         [](const ::testing::TestParamInfo<OracleRun>& info) {
                           return std::string(info.param.schedule) + (info.param.max_grad_norm > 0 ? "_clip1" : "_noclip");
                         });

}  // namespace
}  // namespace ll
