// LoRA on every projection and the lm_head, with dropout: the gradients the training pass returns
// are those of its (deterministic, seeded) loss, checked by central finite differences.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "model/train_step.h"
#include "support/test_support.h"

namespace ll {
namespace {

TEST(LoraDropout, GradientsMatchFiniteDifferences) {
  LL_REQUIRE_TORCH();  // the tiny checkpoint comes from the oracle script
  test::TempDir dir;
  ASSERT_TRUE(test::run_oracle("make_tiny_llama.py", {dir.path(), "--seed", "4"}));
  auto model = LlamaModel::open(dir.file("model"), ModelOptions{Precision::F32});
  TrainableOptions topt;
  topt.extra = {};
  topt.lora.targets = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head"};
  topt.lora.dropout = 0.2;
  topt.lora.rank = 3;
  model->make_trainable(topt);
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.f, 0.2f);
  for (const LoraAdapter* a : model->lora_adapters()) {
    float* b = a->B.value.as<float>();
    for (int64_t i = 0; i < a->B.value.numel(); ++i) b[i] = nd(rng);
  }
  model->refresh_after_update();
  ASSERT_EQ(model->lora_adapters().size(), 2u * 7 + 1);

  TrainBatch batch;
  batch.layout = {1, 13, {13}};
  for (int t = 0; t < 13; ++t) batch.tokens.push_back(static_cast<int32_t>((t * 37 + 5) % 131));
  for (int t = 0; t < 13; ++t) batch.targets.push_back(t + 1 < 13 ? batch.tokens[t + 1] : -100);
  TrainPassOptions pass;
  pass.dropout = {/*seed=*/9, /*step=*/2, /*training=*/true};
  Arena arena;
  model->zero_grads();
  forward_backward(*model, batch, pass, arena);
  auto loss_at = [&]() {
    // The loss of the same pass (same dropout masks), in double from a forward+backward.
    LlamaModel& m = *model;
    m.refresh_after_update();
    std::vector<std::vector<float>> saved;
    for (const NamedParam& p : m.trainable_params())
      saved.emplace_back(p.param->grad_data(), p.param->grad_data() + p.param->grad.numel());
    const double l = forward_backward(m, batch, pass, arena).sum;
    size_t i = 0;
    for (const NamedParam& p : m.trainable_params()) std::copy(saved[i].begin(), saved[i].end(), p.param->grad_data()), ++i;
    return l;
  };
  const float h = 2e-3f;
  int checked = 0;
  for (const NamedParam& p : model->trainable_params()) {
    float* v = p.param->value.as<float>();
    for (int probe = 0; probe < 2; ++probe) {
      const int64_t i = static_cast<int64_t>(rng() % static_cast<uint32_t>(p.param->value.numel()));
      const float keep = v[i];
      v[i] = keep + h;
      const double up = loss_at();
      v[i] = keep - h;
      const double down = loss_at();
      v[i] = keep;
      const double fd = (up - down) / (2 * h);
      const double g = p.param->grad_data()[i];
      EXPECT_NEAR(g, fd, 1e-2 * std::max(1.0, std::fabs(fd))) << p.name << "[" << i << "]";
      ++checked;
    }
  }
  model->refresh_after_update();
  EXPECT_EQ(checked, 2 * 2 * 15);
}

}  // namespace
}  // namespace ll
