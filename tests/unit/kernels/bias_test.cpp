#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "core/threads.h"
#include "kernels/bias.h"
#include "unit/kernels/grad_check.h"

namespace ll {
namespace {

using test::random_floats;
using test::to_double;

// y[r, c] = y0[r, c] + b[c] over the first n of ld columns, in double.
std::vector<double> reference_bias(const std::vector<double>& y0, const std::vector<double>& b, int64_t rows,
                                   int64_t n, int64_t ld) {
  std::vector<double> y = y0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < n; ++c) y[r * ld + c] += b[c];
  return y;
}

struct Shape {
  int64_t rows, n, ld;
};
void PrintTo(const Shape& s, std::ostream* os) { *os << "rows " << s.rows << ", n " << s.n << ", ld " << s.ld; }

class BiasTest : public ::testing::TestWithParam<Shape> {};

// Forward on a strided block (as q's bias inside the fused qkv output): the block's columns gain b,
// the others are untouched.
TEST_P(BiasTest, ForwardMatchesDoubleReference) {
  const auto [rows, n, ld] = GetParam();
  std::mt19937 rng(static_cast<unsigned>(rows * 31 + n));
  const std::vector<float> y0 = random_floats(rows * ld, rng), b = random_floats(n, rng);
  std::vector<float> y = y0;
  bias_forward(y.data(), ld, rows, b.data(), n);
  test::expect_close(y.data(), reference_bias(to_double(y0), to_double(b), rows, n, ld), 1e-7, 0, "y");
}

// L = Σ g·y: db (added to a random initial db) equals central differences of the double reference.
TEST_P(BiasTest, BackwardMatchesFiniteDifferences) {
  const auto [rows, n, ld] = GetParam();
  std::mt19937 rng(static_cast<unsigned>(rows * 7 + n));
  const std::vector<float> y0 = random_floats(rows * ld, rng), b = random_floats(n, rng);
  const std::vector<float> g = random_floats(rows * ld, rng), db0 = random_floats(n, rng);
  std::vector<float> db = db0;
  bias_backward(db.data(), g.data(), ld, rows, n);

  const std::vector<double> gd = to_double(g), y0d = to_double(y0);
  auto loss_of_b = [&, rows = rows, n = n, ld = ld](const std::vector<double>& bv) {
    return test::dot(gd, reference_bias(y0d, bv, rows, n, ld));
  };
  std::vector<double> want = test::numeric_gradient(to_double(b), loss_of_b);
  for (size_t i = 0; i < want.size(); ++i) want[i] += db0[i];
  test::expect_close(db.data(), want, 1e-5, 1e-6, "db");
}

INSTANTIATE_TEST_SUITE_P(Shapes, BiasTest,
                         ::testing::Values(Shape{7, 37, 37}, Shape{5, 130, 197}, Shape{3, 1, 4}, Shape{1, 300, 300},
                                           Shape{131, 259, 300}));

// db sums over rows: the same bits for any thread count, accurate over many rows.
TEST(Bias, GradientIsDeterministicAndAccurate) {
  const int64_t rows = 4099, n = 300, ld = 333;
  std::mt19937 rng(5);
  const std::vector<float> dy = random_floats(rows * ld, rng);
  std::vector<std::vector<float>> dbs;
  for (int threads : {1, 2, 1, 2}) {
    set_num_threads(threads);
    std::vector<float> db(n, 0.f);
    bias_backward(db.data(), dy.data(), ld, rows, n);
    dbs.push_back(db);
  }
  set_num_threads(0);
  for (size_t k = 1; k < dbs.size(); ++k) EXPECT_TRUE(test::bitwise_equal(dbs[0], dbs[k])) << "run " << k;
  std::vector<double> want(n, 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < n; ++c) want[c] += dy[r * ld + c];
  test::expect_close(dbs[0].data(), want, 1e-5, 2e-6, "db");
}

}  // namespace
}  // namespace ll
