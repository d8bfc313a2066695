#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/swiglu.h"
#include "unit/kernels/grad_check.h"

namespace ll {
namespace {

using test::random_floats;

double silu(double g) { return g / (1 + std::exp(-g)); }

// Gates over the whole useful range, a few far out where exp over/underflows.
std::vector<float> random_gates(size_t n, std::mt19937& rng) {
  std::vector<float> g = random_floats(n, rng, -12.f, 12.f);
  g[0] = -95.f, g[1] = 95.f, g[2] = -30.f, g[3] = 40.f;
  return g;
}

TEST(SwiGlu, ForwardMatchesDoubleReference) {
  std::mt19937 rng(1);
  const size_t n = 20011;  // two OpenMP chunks and a vector tail
  const std::vector<float> gate = random_gates(n, rng), up = random_floats(n, rng, -2.f, 2.f);
  std::vector<float> h(n);
  swiglu_forward(h.data(), gate.data(), up.data(), n);
  std::vector<double> want(n);
  for (size_t i = 0; i < n; ++i) want[i] = silu(gate[i]) * up[i];
  // Per element relative error (f32 rounding of a few operations), plus a floor for tiny results.
  test::expect_close(h.data(), want, 1e-6, 1e-9, "h");

  // In place into either input: same values.
  std::vector<float> into_gate = gate, into_up = up;
  swiglu_forward(into_gate.data(), into_gate.data(), up.data(), n);
  swiglu_forward(into_up.data(), gate.data(), into_up.data(), n);
  EXPECT_TRUE(test::bitwise_equal(into_gate, h));
  EXPECT_TRUE(test::bitwise_equal(into_up, h));
}

// L = Σ r·h: dgate and dup equal central differences of the double reference.
TEST(SwiGlu, BackwardMatchesFiniteDifferences) {
  std::mt19937 rng(2);
  const size_t n = 301;
  std::vector<float> gate = random_floats(n, rng, -8.f, 8.f);
  const std::vector<float> up = random_floats(n, rng, -2.f, 2.f), r = random_floats(n, rng);
  std::vector<float> dgate(n), dup(n);
  swiglu_backward(dgate.data(), dup.data(), r.data(), gate.data(), up.data(), n);

  const std::vector<double> gd = test::to_double(gate), ud = test::to_double(up), rd = test::to_double(r);
  auto loss_of_gate = [&](const std::vector<double>& g) {
    double l = 0;
    for (size_t i = 0; i < n; ++i) l += rd[i] * silu(g[i]) * ud[i];
    return l;
  };
  auto loss_of_up = [&](const std::vector<double>& u) {
    double l = 0;
    for (size_t i = 0; i < n; ++i) l += rd[i] * silu(gd[i]) * u[i];
    return l;
  };
  test::expect_close(dgate.data(), test::numeric_gradient(gd, loss_of_gate), 1e-5, 1e-7, "dgate");
  test::expect_close(dup.data(), test::numeric_gradient(ud, loss_of_up), 1e-5, 1e-7, "dup");
}

// Writing the gradients over the inputs (dgate == gate, dup == up) gives the same bits.
TEST(SwiGlu, BackwardInPlace) {
  std::mt19937 rng(3);
  const size_t n = 20011;
  const std::vector<float> gate = random_gates(n, rng), up = random_floats(n, rng), dh = random_floats(n, rng);
  std::vector<float> dgate(n), dup(n);
  swiglu_backward(dgate.data(), dup.data(), dh.data(), gate.data(), up.data(), n);
  std::vector<float> g = gate, u = up;
  swiglu_backward(g.data(), u.data(), dh.data(), g.data(), u.data(), n);
  EXPECT_TRUE(test::bitwise_equal(g, dgate));
  EXPECT_TRUE(test::bitwise_equal(u, dup));
  for (float x : dgate) ASSERT_TRUE(std::isfinite(x));
}

// The fused [T, 2F] layout gives the same bits as the separate gate/up arrays, in place too.
TEST(SwiGlu, FusedLayoutEqualsSeparateArrays) {
  std::mt19937 rng(4);
  const int64_t T = 67;
  const int F = 173;
  const std::vector<float> gate_up = random_floats(T * 2 * F, rng, -6.f, 6.f), dh = random_floats(T * F, rng);
  std::vector<float> gate(T * F), up(T * F);
  for (int64_t t = 0; t < T; ++t)
    for (int f = 0; f < F; ++f) {
      gate[t * F + f] = gate_up[t * 2 * F + f];
      up[t * F + f] = gate_up[t * 2 * F + F + f];
    }
  std::vector<float> h(T * F), h_fused(T * F);
  swiglu_forward(h.data(), gate.data(), up.data(), T * F);
  swiglu_forward_fused(h_fused.data(), gate_up.data(), T, F);
  EXPECT_TRUE(test::bitwise_equal(h, h_fused));

  std::vector<float> dgate(T * F), dup(T * F), dgate_up(T * 2 * F);
  swiglu_backward(dgate.data(), dup.data(), dh.data(), gate.data(), up.data(), T * F);
  swiglu_backward_fused(dgate_up.data(), dh.data(), gate_up.data(), T, F);
  std::vector<float> in_place = gate_up;
  swiglu_backward_fused(in_place.data(), dh.data(), in_place.data(), T, F);
  EXPECT_TRUE(test::bitwise_equal(in_place, dgate_up));
  for (int64_t t = 0; t < T; ++t)
    for (int f = 0; f < F; ++f) {
      ASSERT_EQ(dgate_up[t * 2 * F + f], dgate[t * F + f]);
      ASSERT_EQ(dgate_up[t * 2 * F + F + f], dup[t * F + f]);
    }
}

}  // namespace
}  // namespace ll
