#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/threads.h"
#include "kernels/rmsnorm.h"
#include "unit/kernels/grad_check.h"

namespace ll {
namespace {

using test::random_floats;
using test::to_double;

// y = x · (mean(x²) + eps)^(−1/2) · w in double; returns rstd per row.
std::vector<double> reference_rmsnorm(std::vector<double>* y, const std::vector<double>& x,
                                      const std::vector<double>& w, int64_t rows, int C, double eps) {
  std::vector<double> rstd(rows);
  y->assign(x.size(), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    double ms = 0;
    for (int c = 0; c < C; ++c) ms += x[r * C + c] * x[r * C + c];
    rstd[r] = 1.0 / std::sqrt(ms / C + eps);
    for (int c = 0; c < C; ++c) (*y)[r * C + c] = x[r * C + c] * rstd[r] * w[c];
  }
  return rstd;
}

struct Shape {
  int64_t rows;
  int C;
};
void PrintTo(const Shape& s, std::ostream* os) { *os << "rows " << s.rows << ", C " << s.C; }

class RmsNormTest : public ::testing::TestWithParam<Shape> {};

TEST_P(RmsNormTest, ForwardMatchesDoubleReference) {
  const auto [rows, C] = GetParam();
  std::mt19937 rng(static_cast<unsigned>(rows * 1000 + C));
  const std::vector<float> x = random_floats(rows * C, rng, -2.f, 2.f), w = random_floats(C, rng, 0.5f, 1.5f);
  std::vector<float> y(rows * C), rstd(rows);
  rmsnorm_forward(y.data(), rstd.data(), x.data(), w.data(), rows, C, 1e-5f);
  std::vector<double> want_y;
  const std::vector<double> want_rstd = reference_rmsnorm(&want_y, to_double(x), to_double(w), rows, C, 1e-5);
  test::expect_close(y.data(), want_y, 2e-6, 1e-7, "y");
  test::expect_close(rstd.data(), want_rstd, 2e-6, 0, "rstd");

  // In place and without saving rstd: same values.
  std::vector<float> inplace = x;
  rmsnorm_forward(inplace.data(), nullptr, inplace.data(), w.data(), rows, C, 1e-5f);
  EXPECT_TRUE(test::bitwise_equal(inplace, y));
}

// L = Σ r·y: the analytic gradients (added to random initial dx, dw) equal central differences of
// the double reference.
class RmsNormGradTest : public ::testing::TestWithParam<Shape> {};

TEST_P(RmsNormGradTest, BackwardMatchesFiniteDifferences) {
  const auto [rows, C] = GetParam();
  std::mt19937 rng(static_cast<unsigned>(rows * 7 + C));
  const double eps = 1e-2;  // large enough to matter in the gradient
  const std::vector<float> x = random_floats(rows * C, rng), w = random_floats(C, rng, 0.5f, 1.5f);
  const std::vector<float> r = random_floats(rows * C, rng);
  const std::vector<float> dx0 = random_floats(rows * C, rng), dw0 = random_floats(C, rng);

  std::vector<float> y(rows * C), rstd(rows), dx = dx0, dw = dw0;
  rmsnorm_forward(y.data(), rstd.data(), x.data(), w.data(), rows, C, static_cast<float>(eps));
  rmsnorm_backward(dx.data(), dw.data(), r.data(), x.data(), w.data(), rstd.data(), rows, C);

  const std::vector<double> xd = to_double(x), wd = to_double(w), rd = to_double(r);
  auto loss_of_x = [&, rows = rows, C = C](const std::vector<double>& xv) {
    std::vector<double> yv;
    reference_rmsnorm(&yv, xv, wd, rows, C, eps);
    return test::dot(rd, yv);
  };
  auto loss_of_w = [&, rows = rows, C = C](const std::vector<double>& wv) {
    std::vector<double> yv;
    reference_rmsnorm(&yv, xd, wv, rows, C, eps);
    return test::dot(rd, yv);
  };
  std::vector<double> want_dx = test::numeric_gradient(xd, loss_of_x);
  std::vector<double> want_dw = test::numeric_gradient(wd, loss_of_w);
  for (size_t i = 0; i < want_dx.size(); ++i) want_dx[i] += dx0[i];
  for (size_t i = 0; i < want_dw.size(); ++i) want_dw[i] += dw0[i];
  test::expect_close(dx.data(), want_dx, 1e-5, 1e-6, "dx");
  test::expect_close(dw.data(), want_dw, 1e-5, 1e-6, "dw");

  // Frozen weight (dw == nullptr): the same dx.
  std::vector<float> dx_frozen = dx0;
  rmsnorm_backward(dx_frozen.data(), nullptr, r.data(), x.data(), w.data(), rstd.data(), rows, C);
  EXPECT_TRUE(test::bitwise_equal(dx_frozen, dx));
}

INSTANTIATE_TEST_SUITE_P(Shapes, RmsNormTest,
                         ::testing::Values(Shape{7, 37}, Shape{5, 130}, Shape{3, 1}, Shape{1, 300},
                                           Shape{301, 130}));
INSTANTIATE_TEST_SUITE_P(Shapes, RmsNormGradTest,
                         ::testing::Values(Shape{7, 37}, Shape{5, 130}, Shape{3, 1}, Shape{1, 300}));

// dw sums over rows; the result must not depend on the thread count, and stay accurate over
// many rows.
TEST(RmsNorm, WeightGradientIsDeterministicAndAccurate) {
  const int64_t rows = 4099;
  const int C = 300;
  std::mt19937 rng(3);
  const std::vector<float> x = random_floats(rows * C, rng), w = random_floats(C, rng, 0.5f, 1.5f);
  const std::vector<float> dy = random_floats(rows * C, rng);
  std::vector<float> y(rows * C), rstd(rows);
  rmsnorm_forward(y.data(), rstd.data(), x.data(), w.data(), rows, C, 1e-5f);

  std::vector<std::vector<float>> dws, dxs;
  for (int threads : {1, 2, 1, 2}) {
    set_num_threads(threads);
    std::vector<float> dx(rows * C, 0.f), dw(C, 0.f);
    rmsnorm_backward(dx.data(), dw.data(), dy.data(), x.data(), w.data(), rstd.data(), rows, C);
    dws.push_back(dw);
    dxs.push_back(dx);
  }
  set_num_threads(0);
  for (size_t k = 1; k < dws.size(); ++k) {
    EXPECT_TRUE(test::bitwise_equal(dws[0], dws[k])) << "run " << k;
    EXPECT_TRUE(test::bitwise_equal(dxs[0], dxs[k])) << "run " << k;
  }
  // dw[c] = Σ_r dy·x·rstd, against a double sum of the same f32 inputs.
  std::vector<double> want(C, 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int c = 0; c < C; ++c) want[c] += static_cast<double>(dy[r * C + c]) * x[r * C + c] * rstd[r];
  test::expect_close(dws[0].data(), want, 1e-5, 2e-6, "dw");
}

}  // namespace
}  // namespace ll
