// The optimizer and the reductions over the flat trainable store: adamw_step (several steps against a double
// transcription of torch.optim.AdamW), sum_of_squares, scale, first_non_finite. Sizes span several of the
// CPU backend's 16384-element chunks plus a vector tail.
#include <cfloat>

#include "backend/harness.h"

namespace ll::backend_test {
namespace {

class BackendOptimizer : public BackendTest {};
INSTANTIATE_BACKEND_SUITE(BackendOptimizer);

constexpr int64_t kN = 40009;

// torch.optim.AdamW's _single_tensor_adamw (PyTorch 1.13), line by line in double:
//   param.mul_(1 - lr·wd); exp_avg = β1·exp_avg + (1 − β1)·g; exp_avg_sq = β2·exp_avg_sq + (1 − β2)·g²
//   denom = sqrt(exp_avg_sq) / sqrt(1 − β2^step) + eps;  param −= lr / (1 − β1^step) · exp_avg / denom
// with, beside each value, a first-order bound of what f32 arithmetic (the hyperparameters rounded to f32
// too) may have put on it by now: per step m gets 3u of β1·|m| + (1 − β1)·|g| (the magnitude, tracked in
// m_mag), v 4u of v, denom (ev / 2v + 5u) of itself, the update 3u of itself plus what m and denom carry,
// the parameter 2u of |param·decay| and u of the result; earlier errors decay with β1, β2 and the decay.
struct ReferenceAdamW {
  std::vector<double> param, m, v, m_mag, e_param, e_m, e_v;

  ReferenceAdamW(const std::vector<float>& p, const std::vector<float>& m0, const std::vector<float>& v0)
      : param(widen(p)), m(widen(m0)), v(widen(v0)), m_mag(m.size()), e_param(p.size(), 0.0), e_m(p.size(), 0.0),
        e_v(p.size(), 0.0) {
    for (size_t i = 0; i < m.size(); ++i) m_mag[i] = std::fabs(m[i]);
  }

  void step(const std::vector<float>& grad, const AdamWSettings& s, int64_t step) {
    const double bc1 = 1 - std::pow(s.beta1, static_cast<double>(step)), bc2 = 1 - std::pow(s.beta2, static_cast<double>(step));
    const double decay = 1 - s.lr * s.weight_decay, step_size = s.lr / bc1;
    for (size_t i = 0; i < param.size(); ++i) {
      const double g = grad[i];
      m[i] = s.beta1 * m[i] + (1 - s.beta1) * g;
      m_mag[i] = s.beta1 * m_mag[i] + (1 - s.beta1) * std::fabs(g);
      v[i] = s.beta2 * v[i] + (1 - s.beta2) * g * g;
      e_m[i] = s.beta1 * e_m[i] + 3 * kU * m_mag[i];
      e_v[i] = s.beta2 * e_v[i] + 4 * kU * v[i];
      const double denom = std::sqrt(v[i]) / std::sqrt(bc2) + s.eps;
      const double e_denom = (e_v[i] / (2 * v[i]) + 5 * kU) * denom;
      const double update = step_size * m[i] / denom;
      const double e_update = std::fabs(update) * (3 * kU + e_denom / denom) + step_size * e_m[i] / denom;
      const double decayed = param[i] * decay;
      param[i] = decayed - update;
      e_param[i] = e_param[i] * decay + 2 * kU * std::fabs(decayed) + e_update + kU * std::fabs(param[i]);
    }
  }
};

// Gradients over ten decades (1e-9 to 10), so that eps and the bias corrections matter for some elements.
std::vector<float> random_grad(std::mt19937& rng) {
  std::uniform_real_distribution<double> decade(-9, 1);
  std::vector<float> g = nonzero_floats(kN, rng);
  for (float& e : g) e = static_cast<float>(e * std::pow(10.0, decade(rng)));
  return g;
}

TEST_P(BackendOptimizer, AdamWSeveralSteps) {
  Backend& b = backend();
  std::mt19937 rng(60);
  struct Case {
    std::string name;
    AdamWSettings s;
    int64_t first_step;
    bool fresh;  // moments start at 0 (else random, v > 0: a resumed run)
  };
  const Case cases[] = {
      {"fresh, weight decay", {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.1}, 1, true},
      {"resumed at step 101", {.lr = 2e-5, .beta1 = 0.85, .beta2 = 0.98, .eps = 1e-6, .weight_decay = 0.0}, 101, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::vector<float> p0 = nonzero_floats(kN, rng);
    std::vector<float> m0(kN, 0.0f), v0(kN, 0.0f);
    if (!c.fresh) {
      m0 = nonzero_floats(kN, rng, 1e-4f, 0.1f);
      v0 = nonzero_floats(kN, rng, 1e-8f, 1e-3f);
      for (float& e : v0) e = std::fabs(e);
    }
    ReferenceAdamW ref(p0, m0, v0);
    DeviceArray<float> param(b, p0), m(b, m0), v(b, v0), grad(b, std::vector<float>(kN));
    for (int64_t step = c.first_step; step < c.first_step + 5; ++step) {
      SCOPED_TRACE("step " + std::to_string(step));
      const std::vector<float> g = random_grad(rng);
      grad.write(g);
      b.adamw_step(param.data(), grad.data(), m.data(), v.data(), kN, c.s, step);
      ref.step(g, c.s, step);
      expect_within(m.read(), ref.m, ref.e_m, "exp_avg");
      expect_within(v.read(), ref.v, ref.e_v, "exp_avg_sq");
      expect_within(param.read(), ref.param, ref.e_param, "param");
      expect_bits_equal(grad.read(), g, "the gradient (read only)");
    }
  }
}

// Σ x² in double: every square of an f32 is exact in double, so the op and the reference differ only by
// their double sums: within 2·n·2^-53·Σx². Twice the same: the order does not depend on the threads.
TEST_P(BackendOptimizer, SumOfSquares) {
  Backend& b = backend();
  std::mt19937 rng(61);
  const std::vector<float> x = nonzero_floats(kN, rng, 1e-3f, 30.0f);
  double want = 0;
  for (float e : x) want += static_cast<double>(e) * e;
  DeviceArray<float> dx(b, x);
  const double got = b.sum_of_squares(dx.data(), kN);
  EXPECT_NEAR(got, want, 2 * kN * 0x1p-53 * want);
  EXPECT_EQ(b.sum_of_squares(dx.data(), kN), got) << "not deterministic";
  EXPECT_NEAR(b.sum_of_squares(dx.data(), 7), [&] {
    double s = 0;
    for (int i = 0; i < 7; ++i) s += static_cast<double>(x[i]) * x[i];
    return s;
  }(), 14 * 0x1p-53 * want);
}

// x·s is one correctly rounded f32 product: the exact double product rounded to f32, bit for bit.
TEST_P(BackendOptimizer, Scale) {
  Backend& b = backend();
  std::mt19937 rng(62);
  const std::vector<float> x = nonzero_floats(kN, rng, 1e-3f, 30.0f);
  const float s = 0.37f;
  std::vector<float> want(kN);
  for (int64_t i = 0; i < kN; ++i) want[i] = static_cast<float>(static_cast<double>(x[i]) * s);
  DeviceArray<float> dx(b, x);
  b.scale(dx.data(), kN, s);
  expect_bits_equal(dx.read(), want, "x·s");
}

TEST_P(BackendOptimizer, FirstNonFinite) {
  Backend& b = backend();
  std::mt19937 rng(63);
  std::vector<float> base = nonzero_floats(kN, rng);
  base[5] = FLT_MAX;  // large and tiny finite values are finite
  base[6] = -FLT_MAX;
  base[7] = 1e-45f;
  const float inf = std::numeric_limits<float>::infinity();
  struct Case {
    std::vector<std::pair<int64_t, float>> put;  // (index, value)
    int64_t n, want;
  };
  const Case cases[] = {
      {{}, kN, -1},
      {{{0, kNaN}}, kN, 0},
      {{{kN - 1, inf}}, kN, kN - 1},
      {{{16383, -inf}, {16384, kNaN}}, kN, 16383},  // across a chunk boundary: the first
      {{{40000, kNaN}, {20000, inf}}, kN, 20000},
      {{{30001, -inf}}, kN, 30001},
      {{{30001, -inf}}, 30001, -1},  // past n: not looked at
      {{{3, kNaN}}, 7, 3},
  };
  for (const Case& c : cases) {
    std::vector<float> x = base;
    for (auto [i, v] : c.put) x[i] = v;
    DeviceArray<float> dx(b, x);
    EXPECT_EQ(b.first_non_finite(dx.data(), c.n), c.want) << "n = " << c.n << ", " << c.put.size() << " non-finite";
  }
}

}  // namespace
}  // namespace ll::backend_test
