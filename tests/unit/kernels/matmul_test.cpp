#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/half.h"
#include "kernels/matmul.h"


namespace ll {
namespace {

std::vector<float> random_vec(size_t n, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}

double maybe_round(float v, Precision p) { return p == Precision::BF16 ? round_to_bf16(v) : v; }

// A weight as the GEMMs at precision p read it (convert_gemm_weight), owning its memory.
OwnedTensor gemm_weight(const Tensor& w, Precision p) {
  OwnedTensor out(gemm_weight_dtype(p), {w.shape[0], w.shape[1]});
  convert_gemm_weight(out.view(), w, p);
  return out;
}

// Max |got − want| / max |want| over an [M, N] block with row stride ld.
double rel_err(const float* got, int64_t ld, const std::vector<double>& want, int64_t M, int64_t N) {
  double max_diff = 0, max_ref = 0;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      max_diff = std::max(max_diff, std::fabs(got[i * ld + j] - want[i * N + j]));
      max_ref = std::max(max_ref, std::fabs(want[i * N + j]));
    }
  return max_diff / max_ref;
}

struct Case {
  int64_t M, N, K;
  Precision p;
  DType wdtype;
};

class MatmulTest : public ::testing::TestWithParam<Case> {};

// All three products of a linear layer against a double-precision reference computed on the
// inputs as the GEMM sees them (bf16-rounded at BF16), with padded row strides and accumulation.
TEST_P(MatmulTest, MatchesDoubleReference) {
  const Case c = GetParam();
  std::mt19937 rng(static_cast<unsigned>(c.M * 131 + c.N * 7 + c.K));
  const int64_t ldx = c.K + 3, ldy = c.N + 5;
  std::vector<float> x = random_vec(c.M * ldx, rng), w32 = random_vec(c.N * c.K, rng);
  std::vector<float> y0 = random_vec(c.M * ldy, rng);

  // The weight as stored in a checkpoint of dtype wdtype, and its exact f32 value.
  OwnedTensor w(c.wdtype, {c.N, c.K});
  from_f32(w.data(), c.wdtype, w32.data(), c.N * c.K);
  std::vector<float> wv(c.N * c.K);
  to_f32(wv.data(), w.data(), c.wdtype, c.N * c.K);
  const OwnedTensor gw = gemm_weight(w.view(), c.p);
  Arena scratch;

  // forward, accumulating onto y0
  std::vector<float> y = y0;
  linear_forward(y.data(), ldy, x.data(), ldx, c.M, gw.view(), c.p, /*accumulate=*/true, scratch);
  std::vector<double> want(c.M * c.N);
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = 0; j < c.N; ++j) {
      double s = y0[i * ldy + j];
      for (int64_t k = 0; k < c.K; ++k) s += maybe_round(x[i * ldx + k], c.p) * maybe_round(wv[j * c.K + k], c.p);
      want[i * c.N + j] = s;
    }
  EXPECT_LT(rel_err(y.data(), ldy, want, c.M, c.N), 1e-5);

  // dx = dy · W (overwrite)
  std::vector<float> dy = random_vec(c.M * ldy, rng), dx(c.M * ldx, 7.f);
  linear_backward_input(dx.data(), ldx, dy.data(), ldy, c.M, gw.view(), c.p, /*accumulate=*/false, scratch);
  std::vector<double> want_dx(c.M * c.K);
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t k = 0; k < c.K; ++k) {
      double s = 0;
      for (int64_t j = 0; j < c.N; ++j) s += maybe_round(dy[i * ldy + j], c.p) * maybe_round(wv[j * c.K + k], c.p);
      want_dx[i * c.K + k] = s;
    }
  EXPECT_LT(rel_err(dx.data(), ldx, want_dx, c.M, c.K), 1e-5);

  // dW += dyᵀ · x
  std::vector<float> dw0 = random_vec(c.N * c.K, rng), dw = dw0;
  linear_backward_weight(dw.data(), dy.data(), ldy, x.data(), ldx, c.M, c.N, c.K, c.p, /*accumulate=*/true, scratch);
  EXPECT_EQ(scratch.used(), 0u);  // the operands' scratch is released
  std::vector<double> want_dw(c.N * c.K);
  for (int64_t j = 0; j < c.N; ++j)
    for (int64_t k = 0; k < c.K; ++k) {
      double s = dw0[j * c.K + k];
      for (int64_t i = 0; i < c.M; ++i) s += maybe_round(dy[i * ldy + j], c.p) * maybe_round(x[i * ldx + k], c.p);
      want_dw[j * c.K + k] = s;
    }
  EXPECT_LT(rel_err(dw.data(), c.K, want_dw, c.N, c.K), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, MatmulTest,
    ::testing::Values(Case{7, 13, 37, Precision::F32, DType::F32}, Case{1, 29, 64, Precision::F32, DType::F16},
                      Case{33, 65, 17, Precision::F32, DType::BF16}, Case{7, 13, 37, Precision::BF16, DType::F32},
                      Case{130, 31, 96, Precision::BF16, DType::F16}, Case{5, 257, 11, Precision::BF16, DType::BF16},
                      // one row: the forward runs as a matrix-vector product
                      Case{1, 40, 33, Precision::BF16, DType::F32}, Case{1, 5000, 600, Precision::F32, DType::F32},
                      // above the size run on one thread: the products run on every thread
                      Case{130, 257, 96, Precision::F32, DType::F32}, Case{67, 300, 129, Precision::BF16, DType::F32}));

// The gradients the backward functions return are those of the loss L = Σ r ⊙ (x·Wᵀ), checked
// by central differences in double.
TEST(Matmul, BackwardMatchesFiniteDifferences) {
  const int64_t M = 5, N = 7, K = 9;
  std::mt19937 rng(5);
  std::vector<float> x = random_vec(M * K, rng), w = random_vec(N * K, rng), r = random_vec(M * N, rng);
  auto loss = [&](const std::vector<double>& xd, const std::vector<double>& wd) {
    double L = 0;
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k) s += xd[i * K + k] * wd[j * K + k];
        L += r[i * N + j] * s;
      }
    return L;
  };
  const Tensor gw = Tensor::view(w.data(), DType::F32, {N, K});
  std::vector<float> dx(M * K), dw(N * K);
  Arena scratch;
  linear_backward_input(dx.data(), K, r.data(), N, M, gw, Precision::F32, false, scratch);
  linear_backward_weight(dw.data(), r.data(), N, x.data(), K, M, N, K, Precision::F32, false, scratch);
  std::vector<double> xd(x.begin(), x.end()), wd(w.begin(), w.end());
  const double h = 1e-4;
  for (int64_t i = 0; i < M * K; ++i) {
    auto xp = xd, xm = xd;
    xp[i] += h;
    xm[i] -= h;
    EXPECT_NEAR(dx[i], (loss(xp, wd) - loss(xm, wd)) / (2 * h), 1e-4);
  }
  for (int64_t i = 0; i < N * K; ++i) {
    auto wp = wd, wm = wd;
    wp[i] += h;
    wm[i] -= h;
    EXPECT_NEAR(dw[i], (loss(xd, wp) - loss(xd, wm)) / (2 * h), 1e-4);
  }
}

TEST(Matmul, WeightIsReadInPlaceWhenDtypeMatches) {
  std::vector<float> w(6 * 4, 0.5f);
  const Tensor f32 = Tensor::view(w.data(), DType::F32, {6, 4});
  EXPECT_TRUE(gemm_reads_in_place(f32, Precision::F32));
  EXPECT_FALSE(gemm_reads_in_place(f32, Precision::BF16));  // bf16 copy (native) or bf16-rounded f32 copy (emulated)
}

// 16-bit weights the f32 GEMMs read in place (a mapped f16/bf16 checkpoint, never copied): widened
// panel by panel in scratch. N = 2500 rows of K = 1000 make three 4 MiB panels (1048 rows each, the
// last one ragged); the results are those of the converted copy within f32 summation-order error.
TEST(Matmul, SixteenBitWeightsStreamInPanelsAndMatchTheCopy) {
  const int64_t N = 2500, K = 1000;
  std::mt19937 rng(5);
  const std::vector<float> w32 = random_vec(N * K, rng);
  for (Precision p : {Precision::F32, Precision::BF16})
    for (DType dtype : {DType::F16, DType::BF16}) {
      SCOPED_TRACE(std::string(precision_name(p)) + " compute, " + dtype_name(dtype) + " weight");
      OwnedTensor w(dtype, {N, K});
      from_f32(w.data(), dtype, w32.data(), N * K);
      if (!gemm_reads_in_place(w.view(), p)) {
        EXPECT_EQ(gemm_weight_dtype(p), DType::BF16);  // only a native bf16 GEMM takes a bf16 copy instead
        continue;
      }
      const OwnedTensor copy = gemm_weight(w.view(), p);
      for (int64_t M : {1, 5}) {
        const int64_t ldx = K + 3, ldy = N + 5;
        const std::vector<float> x = random_vec(M * ldx, rng), y0 = random_vec(M * ldy, rng);
        std::vector<float> y = y0, y_copy = y0;
        Arena scratch;
        linear_forward(y.data(), ldy, x.data(), ldx, M, w.view(), p, true, scratch);
        EXPECT_EQ(scratch.used(), 0u);
        EXPECT_EQ(scratch.high_water(), linear_forward_scratch_bytes(M, w.view(), p));
        linear_forward(y_copy.data(), ldy, x.data(), ldx, M, copy.view(), p, true, scratch);
        std::vector<double> want(y_copy.begin(), y_copy.end()), want_block(M * N);
        for (int64_t i = 0; i < M; ++i)
          for (int64_t j = 0; j < N; ++j) want_block[i * N + j] = want[i * ldy + j];
        EXPECT_LT(rel_err(y.data(), ldy, want_block, M, N), 1e-6) << "forward, M = " << M;

        const std::vector<float> dy = random_vec(M * ldy, rng);
        std::vector<float> dx(M * ldx, 3.f), dx_copy(M * ldx, 3.f);
        linear_backward_input(dx.data(), ldx, dy.data(), ldy, M, w.view(), p, false, scratch);
        linear_backward_input(dx_copy.data(), ldx, dy.data(), ldy, M, copy.view(), p, false, scratch);
        std::vector<double> want_dx(M * K);
        for (int64_t i = 0; i < M; ++i)
          for (int64_t k = 0; k < K; ++k) want_dx[i * K + k] = dx_copy[i * ldx + k];
        EXPECT_LT(rel_err(dx.data(), ldx, want_dx, M, K), 1e-5) << "backward, M = " << M;
        for (int64_t i = 0; i < M; ++i) EXPECT_EQ(dx[i * ldx + K], 3.f) << "padding written";
      }
    }
}

}  // namespace
}  // namespace ll
