// The fused LoRA path (backend.h LoraOp): lora_forward and lora_backward, with and without dx, with frozen
// dA/dB, at F32 and BF16, and LoRA dropout: masks recovered through the op itself (an identity A), equal
// in the forward and the backward, at the documented keep rate, and a gradient check with a fixed mask.
//
//   forward   t = dropout(x)·Aᵀ [M, r];  y += s·t·Bᵀ
//   backward  dB += s·dyᵀ·t;  dt = s·dy·B;  dA += dtᵀ·dropout(x);  dx += dropout'(dt·A)
//
// Bounds: each GEMM γ_{n+1}·(|c₀| + Σ|a·b|) as in gemm_test.cpp, plus the error its inputs carry from the
// step before (t into y and dB, dt into dA and dx), propagated through |·|. An intermediate (s·t, dt) that
// the op rounds to bf16 at BF16 adds 2^-8 of its magnitude. x·(1/(1−p)) in f32 adds 2u.
#include "backend/harness.h"

namespace ll::backend_test {
namespace {

class BackendLora : public BackendTest {};
INSTANTIATE_BACKEND_SUITE(BackendLora);

struct Dims {
  int64_t M, K, N, r;  // rows, in, out, rank
};

// Everything a LoRA test feeds the op, on the host.
struct LoraInputs {
  Dims d;
  float scale;
  Strided x, y0, dy, dx0;              // [M, K], [M, N], [M, N], [M, K], each with its own padding
  std::vector<float> A, B, dA0, dB0;   // [r, K], [N, r], [r, K], [N, r]
};

LoraInputs random_inputs(const Dims& d, std::mt19937& rng) {
  return {d,
          1.75f,
          random_strided(d.M, d.K, d.K + 2, rng, kNaN),
          random_strided(d.M, d.N, d.N + 3, rng, kSentinel),
          random_strided(d.M, d.N, d.N + 1, rng, kNaN),
          random_strided(d.M, d.K, d.K + 4, rng, kSentinel),
          nonzero_floats(d.r * d.K, rng),
          nonzero_floats(d.N * d.r, rng),
          nonzero_floats(d.r * d.K, rng),
          nonzero_floats(d.N * d.r, rng)};
}

// What the backend returned.
struct LoraOutputs {
  std::vector<float> t, y, dA, dB, dx;  // y and dx in their strided layouts
};

struct Trainable {
  bool dA = true, dB = true, dx = true;
};

// Runs lora_forward then lora_backward on the backend (t from the forward feeds the backward).
LoraOutputs run_lora(Backend& b, const LoraInputs& in, Precision p, float dropout, uint64_t stream,
                     const DropoutContext& ctx, const Trainable& train) {
  const Dims& d = in.d;
  GemmWeight A, B;
  b.prepare_weight(A, Tensor::view(in.A.data(), DType::F32, {d.r, d.K}), p);
  b.prepare_weight(B, Tensor::view(in.B.data(), DType::F32, {d.N, d.r}), p);
  DeviceArray<float> x(b, in.x.data), y(b, in.y0.data), t(b, std::vector<float>(d.M * d.r, kNaN));
  DeviceArray<float> dy(b, in.dy.data), dx(b, in.dx0.data), dA(b, in.dA0), dB(b, in.dB0);
  LoraOp op{&A, &B, train.dA ? dA.data() : nullptr, train.dB ? dB.data() : nullptr, in.scale, dropout, stream};
  Arena scratch(b, 0);
  b.lora_forward(op, y.data(), in.y0.ld, x.data(), in.x.ld, d.M, t.data(), ctx, scratch);
  b.lora_backward(op, train.dx ? dx.data() : nullptr, in.dx0.ld, dy.data(), in.dy.ld, x.data(), in.x.ld, t.data(), d.M,
                  ctx, scratch);
  return {t.read(), y.read(), dA.read(), dB.read(), dx.read()};
}

// The reference: exact gradients of the exact forward (double), and per element the bound the op's
// f32/bf16 arithmetic may be off by. keep [M, K]: the dropout mask (all 1 without dropout).
struct LoraReference {
  std::vector<double> t, t_bound, y, y_bound;  // y: the full strided buffer, padding included
  std::vector<double> dA, dA_bound, dB, dB_bound, dx, dx_bound;  // gradients without the accumulators
};

LoraReference lora_reference(const LoraInputs& in, Precision p, const std::vector<uint8_t>& keep, double keep_scale) {
  const auto [M, K, N, r] = in.d;
  const double s = in.scale, as = std::fabs(s);
  const double ub = p == Precision::BF16 ? kUBf16 : 0.0;  // an intermediate the op rounds to bf16
  auto rounded_in = [&](float v) { return gemm_input(v, p); };
  std::vector<double> xm(M * K), A(r * K), B(N * r), dy(M * N);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < K; ++k) xm[m * K + k] = keep[m * K + k] ? rounded_in(in.x.at(m, k)) * keep_scale : 0.0;
  for (size_t i = 0; i < A.size(); ++i) A[i] = rounded_in(in.A[i]);
  for (size_t i = 0; i < B.size(); ++i) B[i] = rounded_in(in.B[i]);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) dy[m * N + n] = rounded_in(in.dy.at(m, n));

  LoraReference ref;
  // t = xm·Aᵀ;  st = s·t as the second GEMM reads it (error st_err).
  ref.t.assign(M * r, 0.0);
  ref.t_bound.assign(M * r, 0.0);
  std::vector<double> st_err(M * r);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t j = 0; j < r; ++j) {
      double mag = 0;
      for (int64_t k = 0; k < K; ++k) {
        ref.t[m * r + j] += xm[m * K + k] * A[j * K + k];
        mag += std::fabs(xm[m * K + k] * A[j * K + k]);
      }
      ref.t_bound[m * r + j] = gamma_f32(K + 3) * mag;
      const double st = as * std::fabs(ref.t[m * r + j]), f32_err = as * ref.t_bound[m * r + j] + kU * st;
      st_err[m * r + j] = f32_err + ub * (st + f32_err);
    }
  // y = y0 + st·Bᵀ
  ref.y.assign(in.y0.data.begin(), in.y0.data.end());
  ref.y_bound.assign(ref.y.size(), 0.0);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double sum = in.y0.at(m, n), mag = std::fabs(sum), carried = 0;
      for (int64_t j = 0; j < r; ++j) {
        sum += s * ref.t[m * r + j] * B[n * r + j];
        mag += (as * std::fabs(ref.t[m * r + j]) + st_err[m * r + j]) * std::fabs(B[n * r + j]);
        carried += st_err[m * r + j] * std::fabs(B[n * r + j]);
      }
      ref.y[m * in.y0.ld + n] = sum;
      ref.y_bound[m * in.y0.ld + n] = gamma_f32(r + 1) * mag + carried;
    }
  // dB = s·dyᵀ·t
  ref.dB.assign(N * r, 0.0);
  ref.dB_bound.assign(N * r, 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t j = 0; j < r; ++j) {
      double mag = std::fabs(in.dB0[n * r + j]), carried = 0;
      for (int64_t m = 0; m < M; ++m) {
        ref.dB[n * r + j] += dy[m * N + n] * s * ref.t[m * r + j];
        mag += std::fabs(dy[m * N + n]) * (as * std::fabs(ref.t[m * r + j]) + st_err[m * r + j]);
        carried += std::fabs(dy[m * N + n]) * st_err[m * r + j];
      }
      ref.dB_bound[n * r + j] = gamma_f32(M + 1) * mag + carried;
    }
  // dt = s·dy·B (error dt_err as the next GEMMs read it)
  std::vector<double> dt(M * r, 0.0), dt_err(M * r);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t j = 0; j < r; ++j) {
      double mag = 0;
      for (int64_t n = 0; n < N; ++n) {
        dt[m * r + j] += s * dy[m * N + n] * B[n * r + j];
        mag += as * std::fabs(dy[m * N + n] * B[n * r + j]);
      }
      const double f32_err = gamma_f32(N + 1) * mag;
      dt_err[m * r + j] = f32_err + ub * (std::fabs(dt[m * r + j]) + f32_err);
    }
  // dA = dtᵀ·xm
  ref.dA.assign(r * K, 0.0);
  ref.dA_bound.assign(r * K, 0.0);
  for (int64_t j = 0; j < r; ++j)
    for (int64_t k = 0; k < K; ++k) {
      double mag = std::fabs(in.dA0[j * K + k]), carried = 0;
      for (int64_t m = 0; m < M; ++m) {
        ref.dA[j * K + k] += dt[m * r + j] * xm[m * K + k];
        mag += (std::fabs(dt[m * r + j]) + dt_err[m * r + j]) * std::fabs(xm[m * K + k]);
        carried += dt_err[m * r + j] * std::fabs(xm[m * K + k]);
      }
      ref.dA_bound[j * K + k] = gamma_f32(M + 4) * mag + carried;
    }
  // dx = keep·(1/(1−p))·dt·A
  ref.dx.assign(M * K, 0.0);
  ref.dx_bound.assign(M * K, 0.0);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < K; ++k) {
      double mag = std::fabs(in.dx0.at(m, k)), carried = 0;
      if (keep[m * K + k]) {
        for (int64_t j = 0; j < r; ++j) {
          ref.dx[m * K + k] += keep_scale * dt[m * r + j] * A[j * K + k];
          mag += keep_scale * (std::fabs(dt[m * r + j]) + dt_err[m * r + j]) * std::fabs(A[j * K + k]);
          carried += keep_scale * dt_err[m * r + j] * std::fabs(A[j * K + k]);
        }
      }
      ref.dx_bound[m * K + k] = gamma_f32(r + 4) * mag + carried;
    }
  return ref;
}

// L = Σ dy ∘ (s·(xm·Aᵀ)·Bᵀ) in double, xm = keep·x·keep_scale: what the gradient checks differentiate.
double lora_loss(const LoraInputs& in, const std::vector<double>& x, const std::vector<double>& A,
                 const std::vector<double>& B, const std::vector<uint8_t>& keep, double keep_scale) {
  const auto [M, K, N, r] = in.d;
  double loss = 0;
  std::vector<double> t(r);
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t j = 0; j < r; ++j) {
      t[j] = 0;
      for (int64_t k = 0; k < K; ++k)
        if (keep[m * K + k]) t[j] += x[m * K + k] * keep_scale * A[j * K + k];
    }
    for (int64_t n = 0; n < N; ++n) {
      double y = 0;
      for (int64_t j = 0; j < r; ++j) y += in.scale * t[j] * B[n * r + j];
      loss += in.dy.at(m, n) * y;
    }
  }
  return loss;
}

std::string trainable_label(const Trainable& t) {
  return std::string(t.dA ? "dA" : "frozen A") + (t.dB ? ", dB" : ", frozen B") + (t.dx ? ", dx" : ", no dx");
}

std::vector<double> added(const std::vector<double>& base, const std::vector<double>& delta) {
  std::vector<double> sum = base;
  for (size_t i = 0; i < sum.size(); ++i) sum[i] += delta[i];
  return sum;
}

// Checks the backend's outputs against the reference and, at F32, the gradients also against finite
// differences of lora_loss (bf16 rounding is not differentiable).
void check_lora(const LoraInputs& in, Precision p, const LoraOutputs& got, const std::vector<uint8_t>& keep,
                double keep_scale, const Trainable& train) {
  const auto [M, K, N, r] = in.d;
  const LoraReference ref = lora_reference(in, p, keep, keep_scale);
  expect_within(got.t, ref.t, ref.t_bound, "t");
  expect_within(got.y, ref.y, ref.y_bound, "y (padding untouched)");
  const std::vector<double> x = dense_of(in.x), A = widen(in.A), B = widen(in.B);
  // One gradient: `at` the point the loss is differentiated at, `loss` of a changed copy of it.
  auto check = [&](const std::string& what, const std::vector<float>& g, const std::vector<double>& base,
                   const std::vector<double>& want, const std::vector<double>& bound, const std::vector<double>& at,
                   const auto& loss) {
    if (p == Precision::F32)
      expect_gradient(g, base, want, central_differences(at, loss), bound, what);
    else
      expect_within(g, added(base, want), bound, what);
  };
  if (train.dB)
    check("dB", got.dB, widen(in.dB0), ref.dB, ref.dB_bound, B,
          [&](const std::vector<double>& v) { return lora_loss(in, x, A, v, keep, keep_scale); });
  else
    expect_bits_equal(got.dB, in.dB0, "a frozen B's gradient buffer");
  if (train.dA)
    check("dA", got.dA, widen(in.dA0), ref.dA, ref.dA_bound, A,
          [&](const std::vector<double>& v) { return lora_loss(in, x, v, B, keep, keep_scale); });
  else
    expect_bits_equal(got.dA, in.dA0, "a frozen A's gradient buffer");
  if (!train.dx) {
    expect_bits_equal(got.dx, in.dx0.data, "dx not asked for");
    return;
  }
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = K; k < in.dx0.ld; ++k) EXPECT_EQ(got.dx[m * in.dx0.ld + k], kSentinel) << "dx padding";
  check("dx", valid_part(got.dx, in.dx0), dense_of(in.dx0), ref.dx, ref.dx_bound, x,
        [&](const std::vector<double>& v) { return lora_loss(in, v, A, B, keep, keep_scale); });
}

TEST_P(BackendLora, ForwardAndBackward) {
  Backend& b = backend();
  std::mt19937 rng(20);
  const std::vector<Trainable> variants = {{true, true, true}, {true, true, false}, {false, false, true},
                                           {true, false, true}};
  for (Precision p : {Precision::F32, Precision::BF16})
    for (int64_t M : {1, 11})
      for (const Trainable& train : variants) {
        SCOPED_TRACE(std::string(precision_name(p)) + " M=" + std::to_string(M) + ", " + trainable_label(train));
        const LoraInputs in = random_inputs({M, 37, 23, 5}, rng);
        // Dropout is set but the pass is not training: no mask.
        const DropoutContext inference{.seed = 3, .step = 1, .training = false};
        const LoraOutputs got = run_lora(b, in, p, /*dropout=*/0.3f, /*stream=*/7, inference, train);
        check_lora(in, p, got, std::vector<uint8_t>(M * 37, 1), 1.0, train);
      }
}

// The keep mask [M, K] the adapter input of width K draws for (dropout p, stream, ctx), recovered through
// the op: with A the identity [K, K], t = dropout(x)·Aᵀ is dropout(x) itself (each sum has one non-zero
// term, exact in f32), so t ≠ 0 exactly where x is kept, and a kept t is x·(1/(1−p)) within 3u (1/(1−p) and the product
// rounded in f32). The
// backward's mask comes from dx = dropout'(dt·A) = keep·dt/(1−p), dt = s·dy·B never zero.
struct Masks {
  std::vector<uint8_t> forward, backward;
};

Masks probe_masks(Backend& b, int64_t M, int64_t K, float p, uint64_t stream, const DropoutContext& ctx) {
  std::mt19937 rng(static_cast<uint32_t>(M * 1000 + K));
  std::vector<float> identity(K * K, 0.0f);
  for (int64_t k = 0; k < K; ++k) identity[k * K + k] = 1.0f;
  const std::vector<float> x = nonzero_floats(M * K, rng), bvals = nonzero_floats(K, rng), dyv = nonzero_floats(M, rng);
  GemmWeight A, B;
  b.prepare_weight(A, Tensor::view(identity.data(), DType::F32, {K, K}), Precision::F32);
  b.prepare_weight(B, Tensor::view(bvals.data(), DType::F32, {1, K}), Precision::F32);
  DeviceArray<float> dxin(b, x), y(b, std::vector<float>(M, 0.0f)), t(b, std::vector<float>(M * K, kNaN));
  DeviceArray<float> dy(b, dyv), dx(b, std::vector<float>(M * K, 0.0f));
  Arena scratch(b, 0);
  const LoraOp op{&A, &B, nullptr, nullptr, 1.0f, p, stream};
  b.lora_forward(op, y.data(), 1, dxin.data(), K, M, t.data(), ctx, scratch);
  b.lora_backward(op, dx.data(), K, dy.data(), 1, dxin.data(), K, t.data(), M, ctx, scratch);
  const std::vector<float> tv = t.read(), dxv = dx.read();
  const bool dropping = ctx.training && p > 0;
  const double keep_scale = dropping ? 1.0 / (1.0 - p) : 1.0;
  Masks masks{std::vector<uint8_t>(M * K), std::vector<uint8_t>(M * K)};
  for (int64_t i = 0; i < M * K; ++i) {
    masks.forward[i] = tv[i] != 0.0f;
    masks.backward[i] = dxv[i] != 0.0f;
    if (masks.forward[i]) {
      EXPECT_LE(std::fabs(tv[i] - x[i] * keep_scale), 3 * kU * std::fabs(x[i] * keep_scale)) << "kept element " << i;
    }
  }
  return masks;
}

double fraction_kept(const std::vector<uint8_t>& mask) {
  double kept = 0;
  for (uint8_t k : mask) kept += k;
  return kept / static_cast<double>(mask.size());
}

TEST_P(BackendLora, DropoutMasks) {
  Backend& b = backend();
  const int64_t M = 61, K = 263;  // 16043 elements
  const float p = 0.3f;
  const DropoutContext ctx{.seed = 1234, .step = 17, .training = true};
  const Masks m = probe_masks(b, M, K, p, /*stream=*/5, ctx);
  EXPECT_EQ(m.forward, m.backward) << "the backward drew other masks than the forward";
  // Keep rate 1 − p: the count of kept elements is binomial, σ = √(p(1−p)/n) ≈ 0.0036; 5σ.
  const double sigma = std::sqrt(p * (1 - p) / static_cast<double>(M * K));
  EXPECT_NEAR(fraction_kept(m.forward), 1 - p, 5 * sigma);
  // Masks are a function of (seed, step, stream, element) only: the same again; another step or
  // stream draws other masks (equal bits only by chance: p² + (1−p)² = 0.58 of them).
  EXPECT_EQ(probe_masks(b, M, K, p, 5, ctx).forward, m.forward);
  for (const auto& [stream, step] : {std::pair<uint64_t, uint64_t>{5, 18}, {6, 17}}) {
    const Masks other = probe_masks(b, M, K, p, stream, {.seed = 1234, .step = step, .training = true});
    double same = 0;
    for (size_t i = 0; i < other.forward.size(); ++i) same += other.forward[i] == m.forward[i];
    EXPECT_NEAR(same / static_cast<double>(M * K), p * p + (1 - p) * (1 - p), 0.03) << "stream " << stream << " step " << step;
  }
  // Not training, or p = 0: nothing dropped.
  EXPECT_EQ(fraction_kept(probe_masks(b, M, K, p, 5, {.seed = 1234, .step = 17, .training = false}).forward), 1.0);
  EXPECT_EQ(fraction_kept(probe_masks(b, M, K, 0.0f, 5, ctx).forward), 1.0);
  // Every backend draws the masks of the CPU backend.
  if (&b != &cpu_backend()) {
    EXPECT_EQ(probe_masks(cpu_backend(), M, K, p, 5, ctx).forward, m.forward);
  }
}

// With dropout, against the reference under the mask the op drew (a fixed mask for the gradient check).
TEST_P(BackendLora, DropoutGradients) {
  Backend& b = backend();
  std::mt19937 rng(21);
  const float p = 0.25f;
  const DropoutContext ctx{.seed = 99, .step = 4, .training = true};
  for (const Trainable& train : {Trainable{true, true, true}, Trainable{true, true, false}}) {
    SCOPED_TRACE(trainable_label(train));
    const Dims d{13, 41, 19, 6};
    const LoraInputs in = random_inputs(d, rng);
    const Masks masks = probe_masks(b, d.M, d.K, p, /*stream=*/3, ctx);
    ASSERT_EQ(masks.forward, masks.backward);
    const LoraOutputs got = run_lora(b, in, Precision::F32, p, /*stream=*/3, ctx, train);
    check_lora(in, Precision::F32, got, masks.forward, 1.0 / (1.0 - p), train);
  }
}

}  // namespace
}  // namespace ll::backend_test
