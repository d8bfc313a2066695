#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <vector>

#include "core/cpu_isa.h"
#include "kernels/exp_f32.h"
#include "unit/kernels/grad_check.h"

namespace ll {
namespace {

using test::random_floats;

// exp_f32 as the kernels run it: vectorised, in the copy of this process's CPU path.
LL_ISA_INLINE void exp_span_body(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = exp_f32(x[i]);
}
LL_ISA_DISPATCH(void, exp_span, (float* y, const float* x, int64_t n), (y, x, n))

// exp_f32 against exp in double: at most 2 ulp over the range of normal results, correct
// underflow (to subnormals, then 0), overflow to inf, NaN kept.
TEST(ExpF32, Accuracy) {
  const float lo = -87.3f, hi = 88.72f;  // normal results
  int64_t max_ulp = 0;
  float worst = 0;
  const int steps = 2000003;
  std::vector<float> xs(steps), ys(steps);
  for (int k = 0; k < steps; ++k) xs[k] = lo + (hi - lo) * static_cast<float>(k) / (steps - 1);
  exp_span(ys.data(), xs.data(), steps);
  for (int k = 0; k < steps; ++k) {
    const int64_t d = test::ulp_distance(ys[k], static_cast<float>(std::exp(static_cast<double>(xs[k]))));
    if (d > max_ulp) max_ulp = d, worst = xs[k];
  }
  EXPECT_LE(max_ulp, 2) << "at x = " << worst;
  RecordProperty("exp_f32_max_ulp", static_cast<int>(max_ulp));
  std::printf("exp_f32: max error %d ulp over [%g, %g]\n", static_cast<int>(max_ulp), lo, hi);
  EXPECT_EQ(exp_f32(0.0f), 1.0f);
  // Subnormal results: within a few subnormal steps of the exact value.
  for (float x = -103.9f; x < -87.4f; x += 0.37f)
    EXPECT_NEAR(exp_f32(x), std::exp(static_cast<double>(x)), 3e-45 + 1e-6 * std::exp(static_cast<double>(x))) << x;
  EXPECT_EQ(exp_f32(-104.5f), 0.0f);
  EXPECT_EQ(exp_f32(-1000.0f), 0.0f);
  EXPECT_EQ(exp_f32(-std::numeric_limits<float>::infinity()), 0.0f);
  EXPECT_EQ(exp_f32(88.8f), std::numeric_limits<float>::infinity());
  EXPECT_EQ(exp_f32(std::numeric_limits<float>::infinity()), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(exp_f32(std::numeric_limits<float>::quiet_NaN())));
}

}  // namespace
}  // namespace ll
