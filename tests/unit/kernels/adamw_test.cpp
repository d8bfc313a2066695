#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/threads.h"
#include "kernels/adamw.h"
#include "support/test_support.h"
#include "unit/kernels/grad_check.h"

namespace ll {
namespace {

using test::random_floats;

constexpr int kSteps = 5;

// PyTorch's single-tensor AdamW update transcribed in double (no f32 rounding anywhere).
struct ReferenceAdamW {
  std::vector<double> param, m, v;
  void step(const std::vector<float>& grad, const AdamWSettings& s, int64_t step) {
    const double bc1 = 1 - std::pow(s.beta1, step), bc2 = 1 - std::pow(s.beta2, step);
    for (size_t i = 0; i < param.size(); ++i) {
      const double g = grad[i];
      param[i] *= 1 - s.lr * s.weight_decay;
      m[i] = s.beta1 * m[i] + (1 - s.beta1) * g;
      v[i] = s.beta2 * v[i] + (1 - s.beta2) * g * g;
      param[i] -= (s.lr / bc1) * m[i] / (std::sqrt(v[i]) / std::sqrt(bc2) + s.eps);
    }
  }
};

// Gradients of 5 steps with magnitudes over several decades, so that eps and the bias corrections
// matter for some elements; n is odd and spans several OpenMP chunks plus vector tails.
std::vector<std::vector<float>> random_grads(size_t n, std::mt19937& rng) {
  std::vector<std::vector<float>> grads;
  std::uniform_real_distribution<float> log_mag(-9.f, 1.f);
  for (int s = 0; s < kSteps; ++s) {
    std::vector<float> g = random_floats(n, rng);
    for (auto& x : g) x *= std::pow(10.f, log_mag(rng));
    grads.push_back(g);
  }
  return grads;
}

TEST(AdamW, FiveStepsMatchDoubleTranscription) {
  std::mt19937 rng(11);
  const size_t n = 1037;
  const AdamWSettings s{.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.1};
  const std::vector<float> init = random_floats(n, rng);
  std::vector<float> param = init, m(n, 0.f), v(n, 0.f);
  ReferenceAdamW ref{test::to_double(param), std::vector<double>(n, 0.0), std::vector<double>(n, 0.0)};
  const auto grads = random_grads(n, rng);
  for (int step = 1; step <= kSteps; ++step) {
    adamw_step(param.data(), grads[step - 1].data(), m.data(), v.data(), n, s, step);
    ref.step(grads[step - 1], s, step);
  }
  // f32 rounding errors are relative to the largest terms summed, hence the absolute part.
  test::expect_close(m.data(), ref.m, 1e-6, 1e-6, "exp_avg");
  test::expect_close(v.data(), ref.v, 1e-6, 1e-6, "exp_avg_sq");
  test::expect_close(param.data(), ref.param, 1e-6, 1e-7, "param");
  // The updates moved the parameters by about lr per step (Adam's normalised step).
  double moved = 0;
  for (size_t i = 0; i < n; ++i) moved = std::max(moved, std::fabs(ref.param[i] - init[i]));
  EXPECT_GT(moved, 2e-3);
}

// Runs torch.optim.AdamW (tests/reference/adamw_oracle.py) on the same data and compares bits.
struct OracleRun {
  std::vector<float> states;  // [kSteps, 3, n]: param, exp_avg, exp_avg_sq after each step
};

OracleRun run_torch(const std::vector<float>& param, const std::vector<std::vector<float>>& grads,
                    const std::string& lr, const std::string& beta1, const std::string& beta2, const std::string& eps,
                    const std::string& wd) {
  test::TempDir dir;
  const size_t n = param.size();
  test::write_file(dir.file("params.f32"), std::string(reinterpret_cast<const char*>(param.data()), n * 4));
  std::string g;
  for (const auto& step : grads) g.append(reinterpret_cast<const char*>(step.data()), n * 4);
  test::write_file(dir.file("grads.f32"), g);
  OracleRun run;
  if (!test::run_oracle("adamw_oracle.py", {dir.file("params.f32"), dir.file("grads.f32"), dir.file("out.f32"),
                                             std::to_string(n), std::to_string(grads.size()), lr, beta1, beta2, eps,
                                             wd}))
    return run;
  const std::string out = test::read_file(dir.file("out.f32"));
  run.states.resize(out.size() / 4);
  std::memcpy(run.states.data(), out.data(), run.states.size() * 4);
  return run;
}

// Max ulp distance between ours and PyTorch's state after every step; EXPECTs it to be 0.
void expect_matches_torch(const std::vector<float>& init, const std::vector<std::vector<float>>& grads,
                          const OracleRun& torch, const auto& step_fn) {
  const size_t n = init.size();
  ASSERT_EQ(torch.states.size(), kSteps * 3 * n);
  std::vector<float> param = init, m(n, 0.f), v(n, 0.f);
  const char* names[3] = {"param", "exp_avg", "exp_avg_sq"};
  for (int s = 0; s < kSteps; ++s) {
    step_fn(param.data(), grads[s].data(), m.data(), v.data(), n, s + 1);
    const std::vector<float>* ours[3] = {&param, &m, &v};
    for (int k = 0; k < 3; ++k) {
      int64_t max_ulp = 0, differing = 0;
      for (size_t i = 0; i < n; ++i) {
        const int64_t d = test::ulp_distance((*ours[k])[i], torch.states[(s * 3 + k) * n + i]);
        max_ulp = std::max(max_ulp, d);
        differing += d != 0;
      }
      EXPECT_EQ(max_ulp, 0) << names[k] << " after step " << s + 1 << ": " << differing << " of " << n
                            << " elements differ from PyTorch";
    }
  }
}

TEST(AdamW, MatchesTorchBitForBit) {
  LL_REQUIRE_TORCH();
  std::mt19937 rng(12);
  const size_t n = 40007;
  const std::vector<float> init = random_floats(n, rng);
  const auto grads = random_grads(n, rng);
  // LongLoRA's defaults except weight decay, which is made non-zero to exercise the decay term.
  const AdamWSettings s{.lr = 2e-5, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01};
  const OracleRun torch = run_torch(init, grads, "2e-5", "0.9", "0.999", "1e-8", "0.01");
  expect_matches_torch(init, grads, torch, [&](float* p, const float* g, float* m, float* v, size_t n, int64_t step) {
    adamw_step(p, g, m, v, n, s, step);
  });
}

// The f32 signature: PyTorch given the same f32 values (printed exactly) gives the same bits.
TEST(AdamW, F32HyperparametersMatchTorchBitForBit) {
  LL_REQUIRE_TORCH();
  std::mt19937 rng(13);
  const size_t n = 3001;
  const std::vector<float> init = random_floats(n, rng);
  const auto grads = random_grads(n, rng);
  const float lr = 1e-3f, beta1 = 0.85f, beta2 = 0.995f, eps = 1e-6f, wd = 0.1f;
  auto exact = [](float f) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", static_cast<double>(f));
    return std::string(buf);
  };
  const OracleRun torch = run_torch(init, grads, exact(lr), exact(beta1), exact(beta2), exact(eps), exact(wd));
  expect_matches_torch(init, grads, torch, [&](float* p, const float* g, float* m, float* v, size_t n, int64_t step) {
    adamw_step(p, g, m, v, n, lr, beta1, beta2, eps, wd, step);
  });
}

}  // namespace
}  // namespace ll
