#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/threads.h"
#include "kernels/cross_entropy.h"
#include "unit/kernels/grad_check.h"

namespace ll {
namespace {

using test::random_floats;

// −log softmax(x)[target] in double for one row.
double reference_row_loss(const double* x, int V, int target) {
  double max = x[0];
  for (int c = 1; c < V; ++c) max = std::max(max, x[c]);
  double sum = 0;
  for (int c = 0; c < V; ++c) sum += std::exp(x[c] - max);
  return max + std::log(sum) - x[target];
}

double reference_loss(const std::vector<double>& logits, const std::vector<int32_t>& targets, int V) {
  double loss = 0;
  for (size_t r = 0; r < targets.size(); ++r)
    if (targets[r] != kIgnoreIndex) loss += reference_row_loss(logits.data() + r * V, V, targets[r]);
  return loss;
}

// Targets uniform over the vocabulary, every third row ignored.
std::vector<int32_t> random_targets(int64_t rows, int V, std::mt19937& rng) {
  std::uniform_int_distribution<int32_t> dist(0, V - 1);
  std::vector<int32_t> t(rows);
  for (int64_t r = 0; r < rows; ++r) t[r] = r % 3 == 1 ? kIgnoreIndex : dist(rng);
  return t;
}

struct Shape {
  int64_t rows;
  int V;
};
void PrintTo(const Shape& s, std::ostream* os) { *os << "rows " << s.rows << ", V " << s.V; }

class CrossEntropyTest : public ::testing::TestWithParam<Shape> {};

// Loss against the double reference; eval-only loss equal to the training one, bit for bit.
TEST_P(CrossEntropyTest, LossMatchesDoubleReference) {
  const auto [rows, V] = GetParam();
  std::mt19937 rng(static_cast<unsigned>(rows * 31 + V));
  const std::vector<float> logits = random_floats(rows * V, rng, -8.f, 8.f);
  const std::vector<int32_t> targets = random_targets(rows, V, rng);
  const double want = reference_loss(test::to_double(logits), targets, V);
  const double eval = cross_entropy_loss(logits.data(), targets.data(), rows, V);
  std::vector<float> work = logits;
  const double train = softmax_cross_entropy(work.data(), targets.data(), rows, V, 1.0f);
  EXPECT_NEAR(eval, want, 2e-6 * std::fabs(want) + 1e-6);
  EXPECT_EQ(train, eval);
}

// dlogits equal central differences of grad_scale · Σ loss (double reference); ignored rows get 0.
class CrossEntropyGradTest : public ::testing::TestWithParam<Shape> {};

TEST_P(CrossEntropyGradTest, GradientMatchesFiniteDifferences) {
  const auto [rows, V] = GetParam();
  std::mt19937 rng(static_cast<unsigned>(rows * 17 + V));
  const std::vector<float> logits = random_floats(rows * V, rng, -4.f, 4.f);
  const std::vector<int32_t> targets = random_targets(rows, V, rng);
  const float grad_scale = 0.37f;
  std::vector<float> dlogits = logits;
  softmax_cross_entropy(dlogits.data(), targets.data(), rows, V, grad_scale);
  auto loss = [&, V = V](const std::vector<double>& x) { return grad_scale * reference_loss(x, targets, V); };
  test::expect_close(dlogits.data(), test::numeric_gradient(test::to_double(logits), loss), 1e-5, 1e-6,
                     "dlogits");
  for (int64_t r = 0; r < rows; ++r) {
    if (targets[r] != kIgnoreIndex) continue;
    for (int c = 0; c < V; ++c) ASSERT_EQ(dlogits[r * V + c], 0.0f);
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, CrossEntropyTest,
                         ::testing::Values(Shape{7, 37}, Shape{5, 130}, Shape{4, 1}, Shape{3, 513},
                                           Shape{67, 3001}));
INSTANTIATE_TEST_SUITE_P(Shapes, CrossEntropyGradTest,
                         ::testing::Values(Shape{7, 37}, Shape{5, 130}, Shape{4, 1}, Shape{3, 513}));

// Logits far from 0 (as an untrained lm_head can give): no overflow, same loss as shifted logits.
TEST(CrossEntropy, StableForLargeLogits) {
  const int V = 1001;
  std::mt19937 rng(5);
  const std::vector<float> base = random_floats(V, rng, -3.f, 3.f);
  const int32_t target = 17;
  const double want = reference_row_loss(test::to_double(base).data(), V, target);
  for (float offset : {-3000.f, 0.f, 3000.f}) {
    std::vector<float> x = base;
    for (auto& v : x) v += offset;  // exact shifts would not change the loss; f32 rounding of x does a bit
    const double shifted_want = reference_row_loss(test::to_double(x).data(), V, target);
    std::vector<float> d = x;
    const double loss = softmax_cross_entropy(d.data(), &target, 1, V, 1.0f);
    ASSERT_TRUE(std::isfinite(loss)) << offset;
    EXPECT_NEAR(loss, shifted_want, 1e-5) << offset;
    EXPECT_NEAR(loss, want, 1e-2) << offset;
    double sum = 0;
    for (float g : d) sum += g;
    EXPECT_NEAR(sum, 0.0, 1e-5) << offset;  // softmax sums to 1, minus the one-hot
  }
  // A huge gap: the target's probability underflows, the loss stays finite and exact.
  std::vector<float> x(V, 0.f);
  x[3] = 200.f;
  const double loss = softmax_cross_entropy(x.data(), &target, 1, V, 1.0f);
  EXPECT_NEAR(loss, 200.0, 1e-4);
  EXPECT_NEAR(x[3], 1.0f, 1e-6);
  EXPECT_NEAR(x[target], -1.0f, 1e-6);
}

TEST(CrossEntropy, BadTargetIsAnInputErrorAndWritesNothing) {
  const int V = 50;
  std::mt19937 rng(6);
  const std::vector<float> logits = random_floats(4 * V, rng);
  for (int32_t bad : {50, -1, -99, 1 << 30}) {
    const std::vector<int32_t> targets = {3, kIgnoreIndex, bad, 4};
    std::vector<float> work = logits;
    try {
      softmax_cross_entropy(work.data(), targets.data(), 4, V, 1.0f);
      ADD_FAILURE() << "no error for target " << bad;
    } catch (const InputError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(std::to_string(bad)), std::string::npos) << msg;
      EXPECT_NE(msg.find("row 2"), std::string::npos) << msg;
      EXPECT_NE(msg.find("50"), std::string::npos) << msg;
    }
    EXPECT_TRUE(test::bitwise_equal(work, logits));
    EXPECT_THROW(cross_entropy_loss(logits.data(), targets.data(), 4, V), InputError);
  }
}

TEST(CrossEntropy, AllRowsIgnored) {
  const int V = 9;
  std::mt19937 rng(7);
  std::vector<float> x = random_floats(2 * V, rng);
  const std::vector<int32_t> targets = {kIgnoreIndex, kIgnoreIndex};
  EXPECT_EQ(softmax_cross_entropy(x.data(), targets.data(), 2, V, 1.0f), 0.0);
  for (float g : x) EXPECT_EQ(g, 0.0f);
}

// The loss sum and the gradients do not depend on the thread count.
TEST(CrossEntropy, DeterministicAcrossThreadCounts) {
  const int64_t rows = 101;
  const int V = 2003;
  std::mt19937 rng(8);
  const std::vector<float> logits = random_floats(rows * V, rng, -5.f, 5.f);
  const std::vector<int32_t> targets = random_targets(rows, V, rng);
  std::vector<double> losses;
  std::vector<std::vector<float>> grads;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    std::vector<float> d = logits;
    losses.push_back(softmax_cross_entropy(d.data(), targets.data(), rows, V, 0.01f));
    grads.push_back(d);
  }
  set_num_threads(0);
  EXPECT_EQ(losses[0], losses[1]);
  EXPECT_TRUE(test::bitwise_equal(grads[0], grads[1]));
}

TEST(CrossEntropy, LogSoftmaxAndArgmax) {
  std::mt19937 rng(9);
  for (int V : {1, 15, 16, 17, 1000}) {
    const std::vector<float> x = random_floats(V, rng, -6.f, 6.f);
    std::vector<float> out(V);
    log_softmax_row(out.data(), x.data(), V);
    const std::vector<double> xd = test::to_double(x);
    std::vector<double> want(V);
    for (int c = 0; c < V; ++c) want[c] = -reference_row_loss(xd.data(), V, c);
    test::expect_close(out.data(), want, 1e-6, 1e-6, "log_softmax V=" + std::to_string(V));
    std::vector<float> in_place = x;
    log_softmax_row(in_place.data(), in_place.data(), V);
    EXPECT_TRUE(test::bitwise_equal(in_place, out));

    int best = 0;
    for (int c = 1; c < V; ++c)
      if (x[c] > x[best]) best = c;
    EXPECT_EQ(argmax_row(x.data(), V), best);
  }
  const std::vector<float> ties = {1.f, 3.f, -2.f, 3.f, 3.f};
  EXPECT_EQ(argmax_row(ties.data(), 5), 1);  // the first maximum, as torch.argmax
}

}  // namespace
}  // namespace ll
