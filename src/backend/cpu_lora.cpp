// The CPU backend's fused LoRA path (backend.h LoraOp): the adapter's two thin GEMMs beside a
// projection's, with LoRA dropout drawn from a counter-based generator.
#include <cstdint>

#include "backend/cpu_backend.h"
#include "core/threads.h"

namespace ll {

namespace {

// splitmix64: a counter-based generator, so any element's mask bit can be recomputed alone.
uint64_t mix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

bool uses_dropout(const LoraOp& a, const DropoutContext& ctx) { return ctx.training && a.dropout > 0; }

// out[R, in] = dropout(x): each element kept with probability 1 − p and scaled by 1/(1 − p). The
// keep bit of element (r, c) is a function of (seed, step, adapter, r, c) only.
void dropout_copy(float* out, const LoraOp& a, const float* x, int64_t ldx, int64_t R, int64_t in,
                  const DropoutContext& ctx) {
  const float keep_scale = 1.0f / (1.0f - a.dropout);
  const uint64_t threshold = static_cast<uint64_t>(static_cast<double>(a.dropout) * 18446744073709551616.0);
  const uint64_t base = mix(mix(ctx.seed ^ a.dropout_stream) ^ ctx.step);
#pragma omp parallel for schedule(static) if (R * in >= parallel_grain(1 << 15))
  for (int64_t r = 0; r < R; ++r)
    for (int64_t c = 0; c < in; ++c) {
      const bool keep = mix(base ^ static_cast<uint64_t>(r * in + c)) >= threshold;
      out[r * in + c] = keep ? x[r * ldx + c] * keep_scale : 0.0f;
    }
}

void scaled(float* out, const float* in, int64_t n, float s) {
  for (int64_t i = 0; i < n; ++i) out[i] = s * in[i];
}

}  // namespace

void CpuBackend::lora_forward(const LoraOp& a, float* y, int64_t ldy, const float* x, int64_t ldx, int64_t M,
                              float* t, const DropoutContext& dropout, Arena& scratch) {
  ArenaScope scope(scratch);
  const int64_t in = a.A->cols(), r = a.rank();
  const bool drop = uses_dropout(a, dropout);
  float* masked_x = drop ? scratch.alloc<float>(M * in) : nullptr;
  float* scaled_t = scratch.alloc<float>(M * r);
  if (drop && !measuring()) dropout_copy(masked_x, a, x, ldx, M, in, dropout);
  // t = dropout(x)·Aᵀ [M, r];  y += (scale·t)·Bᵀ
  linear_forward(t, r, drop ? masked_x : x, drop ? in : ldx, M, *a.A, /*accumulate=*/false, scratch);
  if (!measuring()) scaled(scaled_t, t, M * r, a.scale);
  linear_forward(y, ldy, scaled_t, r, M, *a.B, /*accumulate=*/true, scratch);
}

void CpuBackend::lora_backward(const LoraOp& a, float* dx, int64_t lddx, const float* dy, int64_t lddy,
                               const float* x, int64_t ldx, const float* t, int64_t M, const DropoutContext& dropout,
                               Arena& scratch) {
  ArenaScope scope(scratch);
  const int64_t in = a.A->cols(), out = a.B->rows(), r = a.rank();
  const Precision p = a.A->precision;
  const bool drop = uses_dropout(a, dropout);
  // y += (scale·t)·Bᵀ:  dB += dyᵀ·(scale·t),  d(scale·t) = dy·B → dt = scale·dy·B
  float* scaled_t = scratch.alloc<float>(M * r);
  float* dt = scratch.alloc<float>(M * r);
  float* masked_x = drop ? scratch.alloc<float>(M * in) : nullptr;
  float* d_masked_x = drop && dx ? scratch.alloc<float>(M * in) : nullptr;
  float* d_x_masked = drop && dx ? scratch.alloc<float>(M * in) : nullptr;
  if (!measuring()) scaled(scaled_t, t, M * r, a.scale);
  if (a.dB) linear_backward_weight(a.dB, dy, lddy, scaled_t, r, M, out, r, p, /*accumulate=*/true, scratch);
  linear_backward_input(dt, r, dy, lddy, M, *a.B, /*accumulate=*/false, scratch);
  if (!measuring()) scale(dt, M * r, a.scale);
  // t = dropout(x)·Aᵀ:  dA += dtᵀ·dropout(x),  d dropout(x) = dt·A
  if (drop && !measuring()) dropout_copy(masked_x, a, x, ldx, M, in, dropout);
  if (a.dA) linear_backward_weight(a.dA, dt, r, drop ? masked_x : x, drop ? in : ldx, M, r, in, p, true, scratch);
  if (!dx) return;
  if (!drop) {
    linear_backward_input(dx, lddx, dt, r, M, *a.A, /*accumulate=*/true, scratch);
    return;
  }
  // Through the dropout: the same mask and 1/(1 − p), applied to dt·A.
  linear_backward_input(d_masked_x, in, dt, r, M, *a.A, /*accumulate=*/false, scratch);
  if (measuring()) return;
  dropout_copy(d_x_masked, a, d_masked_x, in, M, in, dropout);
  for (int64_t row = 0; row < M; ++row)
    for (int64_t c = 0; c < in; ++c) dx[row * lddx + c] += d_x_masked[row * in + c];
}

}  // namespace ll
