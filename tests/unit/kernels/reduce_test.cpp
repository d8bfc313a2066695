#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/threads.h"
#include "kernels/reduce.h"
#include "unit/kernels/grad_check.h"

namespace ll {
namespace {

using test::random_floats;

TEST(Reduce, SumOfSquaresIsExactEnoughAndThreadIndependent) {
  std::mt19937 rng(14);
  for (size_t n : {size_t{0}, size_t{1}, size_t{37}, size_t{100003}}) {
    const std::vector<float> g = random_floats(n, rng, -3.f, 3.f);
    long double want = 0;
    for (float x : g) want += static_cast<long double>(x) * x;
    set_num_threads(1);
    const double one = sum_of_squares(g.data(), n);
    set_num_threads(2);
    const double two = sum_of_squares(g.data(), n);
    set_num_threads(0);
    EXPECT_EQ(std::memcmp(&one, &two, sizeof one), 0) << n;
    EXPECT_NEAR(one, static_cast<double>(want), 1e-14 * static_cast<double>(want)) << n;
  }
}

TEST(Reduce, ScaleInplace) {
  std::mt19937 rng(15);
  const size_t n = 70001;  // several chunks and a tail
  const std::vector<float> x = random_floats(n, rng);
  std::vector<float> y = x;
  scale_inplace(y.data(), n, 0.37f);
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(y[i], x[i] * 0.37f) << i;
}

// The first NaN or ±Inf, wherever it is: in a chunk's vector body or its tail, in the first chunk or a
// later one, alone or after another; −1 when there is none.
TEST(Reduce, FirstNonFiniteFindsTheFirstNanOrInf) {
  std::mt19937 rng(16);
  const int64_t n = 70001;  // several chunks and a tail
  const std::vector<float> clean = random_floats(static_cast<size_t>(n), rng);
  EXPECT_EQ(first_non_finite(clean.data(), n), -1);
  EXPECT_EQ(first_non_finite(clean.data(), 0), -1);
  const float bad[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                       -std::numeric_limits<float>::infinity()};
  for (float b : bad)
    for (int64_t at : {int64_t{0}, int64_t{5}, int64_t{16383}, int64_t{16384}, int64_t{40000}, n - 1}) {
      std::vector<float> x = clean;
      x[static_cast<size_t>(at)] = b;
      if (at + 7 < n) x[static_cast<size_t>(at + 7)] = bad[0];  // a later one does not hide the first
      EXPECT_EQ(first_non_finite(x.data(), n), at) << b << " at " << at;
    }
  std::vector<float> big = clean;
  big[3] = std::numeric_limits<float>::max();  // finite, however large
  EXPECT_EQ(first_non_finite(big.data(), n), -1);
}

}  // namespace
}  // namespace ll
