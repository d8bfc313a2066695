// The GEMMs of a projection y = x·Wᵀ (+ b): linear_forward, linear_backward_input, linear_backward_weight,
// bias_forward, bias_backward, at F32 and BF16, with M = 1 (decoding) and M > 1, padded row strides,
// accumulating or writing.
//
// Bound of every GEMM element: γ_{n+1}·(|c₀| + Σ|a·b|) (harness.h) with n the length of the sum and c₀
// the accumulated value (0 when writing). At BF16 both inputs are rounded to bf16 by the op and by the
// reference (bf16_nearest_even) alike, so the same f32 bound holds on the rounded values: a wrong
// rounding (not to nearest even, or of the wrong operand) is off by 2^-8 relative and fails.
// Padding between rows is filled with a sentinel that must come back unchanged (bound 0) and padding
// of the inputs with NaN, which would poison a result that read it.
#include "backend/harness.h"

namespace ll::backend_test {
namespace {

class BackendGemm : public BackendTest {};
INSTANTIATE_BACKEND_SUITE(BackendGemm);

// The expected full buffer and its bounds: c₀ + Σ_k a(r,k)·b(k,c) over [rows, cols], the padding unchanged.
struct Expected {
  std::vector<double> want, bound;
};

template <class A, class B>
Expected gemm_reference(const Strided& out, bool accumulate, int64_t n, const A& a, const B& b) {
  Expected e{std::vector<double>(out.data.begin(), out.data.end()), std::vector<double>(out.data.size(), 0.0)};
  for (int64_t r = 0; r < out.rows; ++r)
    for (int64_t c = 0; c < out.cols; ++c) {
      const double c0 = accumulate ? out.at(r, c) : 0.0;
      double sum = c0, magnitude = std::fabs(c0);
      for (int64_t k = 0; k < n; ++k) {
        sum += a(r, k) * b(k, c);
        magnitude += std::fabs(a(r, k) * b(k, c));
      }
      e.want[r * out.ld + c] = sum;
      e.bound[r * out.ld + c] = gamma_f32(n + 1) * magnitude;
    }
  return e;
}

std::string label(Precision p, int64_t M, bool accumulate) {
  return std::string(precision_name(p)) + " M=" + std::to_string(M) + (accumulate ? " accumulate" : " write");
}

TEST_P(BackendGemm, LinearForward) {
  Backend& b = backend();
  std::mt19937 rng(10);
  const int64_t N = 29, K = 47;
  Arena scratch(b, 0);
  for (Precision p : {Precision::F32, Precision::BF16})
    for (DType wtype : {DType::F32, DType::F16, DType::BF16})
      for (int64_t M : {1, 13})
        for (bool accumulate : {false, true}) {
          SCOPED_TRACE(label(p, M, accumulate) + ", weight " + dtype_name(wtype));
          const Strided x = random_strided(M, K, K + 3, rng, kNaN);
          const std::vector<float> wf = nonzero_floats(N * K, rng);
          const std::vector<uint16_t> wbits = wtype == DType::F16 ? to_f16_bits(wf) : to_bf16_bits(wf);
          const std::vector<double> wv = values_of(wtype, wf, wbits);
          const Strided y0 = output_buffer(M, N, N + 5, accumulate, rng);
          GemmWeight w;
          const void* wdata = wtype == DType::F32 ? static_cast<const void*>(wf.data()) : wbits.data();
          b.prepare_weight(w, Tensor::view(wdata, wtype, {N, K}), p);
          DeviceArray<float> dx(b, x.data), dy(b, y0.data);
          b.linear_forward(dy.data(), y0.ld, dx.data(), x.ld, M, w, accumulate, scratch);
          // y[m, n] = Σ_k x[m, k]·W[n, k]
          const Expected e = gemm_reference(
              y0, accumulate, K, [&](int64_t m, int64_t k) { return gemm_input(x.at(m, k), p); },
              [&](int64_t k, int64_t n) { return gemm_input(static_cast<float>(wv[n * K + k]), p); });
          expect_within(dy.read(), e.want, e.bound, "y");
        }
}

// The loss L = Σ dy ∘ (x·Wᵀ) in double, whose gradients the two backward GEMMs compute.
double linear_loss(const std::vector<double>& x, const std::vector<double>& w, const std::vector<double>& dy,
                   int64_t M, int64_t N, int64_t K) {
  double loss = 0;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double y = 0;
      for (int64_t k = 0; k < K; ++k) y += x[m * K + k] * w[n * K + k];
      loss += dy[m * N + n] * y;
    }
  return loss;
}

TEST_P(BackendGemm, LinearBackwardInput) {
  Backend& b = backend();
  std::mt19937 rng(11);
  const int64_t N = 31, K = 23;
  Arena scratch(b, 0);
  for (Precision p : {Precision::F32, Precision::BF16})
    for (int64_t M : {1, 11})
      for (bool accumulate : {false, true}) {
        SCOPED_TRACE(label(p, M, accumulate));
        const Strided dy = random_strided(M, N, N + 2, rng, kNaN);
        const std::vector<float> wf = nonzero_floats(N * K, rng);
        const Strided dx0 = output_buffer(M, K, K + 4, accumulate, rng);
        GemmWeight w;
        b.prepare_weight(w, Tensor::view(wf.data(), DType::F32, {N, K}), p);
        DeviceArray<float> ddy(b, dy.data), ddx(b, dx0.data);
        b.linear_backward_input(ddx.data(), dx0.ld, ddy.data(), dy.ld, M, w, accumulate, scratch);
        // dx[m, k] = Σ_n dy[m, n]·W[n, k]
        const Expected e = gemm_reference(
            dx0, accumulate, N, [&](int64_t m, int64_t n) { return gemm_input(dy.at(m, n), p); },
            [&](int64_t n, int64_t k) { return gemm_input(wf[n * K + k], p); });
        const std::vector<float> got = ddx.read();
        expect_within(got, e.want, e.bound, "dx");
        if (p == Precision::BF16) continue;  // rounding is not differentiable: the gradient check is at F32
        const std::vector<double> wd = widen(wf), dyd = dense_of(dy);
        // L is linear in x: its differences at any point (here a random x) give the gradient.
        const std::vector<double> fd = central_differences(
            widen(nonzero_floats(M * K, rng)), [&](const std::vector<double>& xv) { return linear_loss(xv, wd, dyd, M, N, K); });
        std::vector<double> ref(M * K), bound(M * K);
        for (int64_t m = 0; m < M; ++m)
          for (int64_t k = 0; k < K; ++k) {
            ref[m * K + k] = e.want[m * dx0.ld + k] - (accumulate ? dx0.at(m, k) : 0.0);
            bound[m * K + k] = e.bound[m * dx0.ld + k];
          }
        expect_gradient(valid_part(got, dx0), accumulate ? dense_of(dx0) : std::vector<double>{}, ref, fd, bound, "dx");
      }
}

TEST_P(BackendGemm, LinearBackwardWeight) {
  Backend& b = backend();
  std::mt19937 rng(12);
  const int64_t N = 19, K = 33;
  Arena scratch(b, 0);
  for (Precision p : {Precision::F32, Precision::BF16})
    for (int64_t M : {1, 37})
      for (bool accumulate : {false, true}) {
        SCOPED_TRACE(label(p, M, accumulate));
        const Strided dy = random_strided(M, N, N + 1, rng, kNaN), x = random_strided(M, K, K + 6, rng, kNaN);
        const Strided dw0 = output_buffer(N, K, K, accumulate, rng);
        DeviceArray<float> ddy(b, dy.data), dx(b, x.data), ddw(b, dw0.data);
        b.linear_backward_weight(ddw.data(), ddy.data(), dy.ld, dx.data(), x.ld, M, N, K, p, accumulate, scratch);
        // dW[n, k] = Σ_m dy[m, n]·x[m, k]
        const Expected e = gemm_reference(
            dw0, accumulate, M, [&](int64_t n, int64_t m) { return gemm_input(dy.at(m, n), p); },
            [&](int64_t m, int64_t k) { return gemm_input(x.at(m, k), p); });
        const std::vector<float> got = ddw.read();
        expect_within(got, e.want, e.bound, "dW");
        if (p == Precision::BF16) continue;
        const std::vector<double> xd = dense_of(x), dyd = dense_of(dy);
        const std::vector<double> fd = central_differences(
            widen(nonzero_floats(N * K, rng)), [&](const std::vector<double>& wv) { return linear_loss(xd, wv, dyd, M, N, K); });
        std::vector<double> ref(N * K), base;
        for (size_t i = 0; i < ref.size(); ++i) ref[i] = e.want[i] - (accumulate ? dw0.data[i] : 0.0);
        if (accumulate) base = widen(dw0.data);
        expect_gradient(got, base, ref, fd, e.bound, "dW");
      }
}

// y[r, :] += b: one f32 addition per element, correctly rounded, so within u·|y| of the exact sum.
TEST_P(BackendGemm, BiasForward) {
  Backend& b = backend();
  std::mt19937 rng(13);
  const int64_t rows = 7, n = 13, ld = 17;
  const Strided y0 = random_strided(rows, n, ld, rng, kSentinel);
  const std::vector<float> bias = nonzero_floats(n, rng);
  DeviceArray<float> dy(b, y0.data), db(b, bias);
  b.bias_forward(dy.data(), ld, rows, db.data(), n);
  std::vector<double> want(y0.data.begin(), y0.data.end()), bound(want.size(), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < n; ++c) {
      want[r * ld + c] = static_cast<double>(y0.at(r, c)) + bias[c];
      bound[r * ld + c] = kU * std::fabs(want[r * ld + c]);
    }
  expect_within(dy.read(), want, bound, "y + b (padding untouched)");
}

// db += Σ_r dy[r, :] over 150 rows (more than one of the kernel's 64-row blocks): γ_{rows+1}·(|db₀| + Σ|dy|).
TEST_P(BackendGemm, BiasBackward) {
  Backend& b = backend();
  std::mt19937 rng(14);
  const int64_t rows = 150, n = 13, ld = 16;
  const Strided dy = random_strided(rows, n, ld, rng, kNaN);
  const std::vector<float> db0 = nonzero_floats(n, rng);
  DeviceArray<float> ddy(b, dy.data), ddb(b, db0);
  b.bias_backward(ddb.data(), ddy.data(), ld, rows, n);
  std::vector<double> ref(n, 0.0), bound(n);
  for (int64_t c = 0; c < n; ++c) {
    double magnitude = std::fabs(db0[c]);
    for (int64_t r = 0; r < rows; ++r) ref[c] += dy.at(r, c), magnitude += std::fabs(dy.at(r, c));
    bound[c] = gamma_f32(rows + 1) * magnitude;
  }
  // L = Σ dy ∘ (y₀ + b)
  const std::vector<double> dyd = dense_of(dy);
  const std::vector<double> fd = central_differences(widen(db0), [&](const std::vector<double>& bv) {
    double loss = 0;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < n; ++c) loss += dyd[r * n + c] * bv[c];
    return loss;
  });
  expect_gradient(ddb.read(), widen(db0), ref, fd, bound, "db");
}

}  // namespace
}  // namespace ll::backend_test
