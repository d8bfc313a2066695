#include "model/linear.h"

#include <cstring>

#include "core/threads.h"
#include "kernels/bias.h"

namespace ll {

namespace {

// splitmix64: a counter-based generator, so any element's mask bit can be recomputed alone.
uint64_t mix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// dropout(x) [R, in]: each element kept with probability 1 − p and scaled by 1/(1 − p). The keep
// bit of element (r, c) is a function of (seed, step, adapter, r, c) only.
float* dropout_copy(const LoraAdapter& a, const float* x, int64_t ldx, int64_t R, const DropoutContext& ctx,
                    Arena& arena) {
  float* out = arena.alloc<float>(R * a.in);
  const float keep_scale = 1.0f / (1.0f - a.dropout);
  const uint64_t threshold = static_cast<uint64_t>(static_cast<double>(a.dropout) * 18446744073709551616.0);
  const uint64_t base = mix(mix(ctx.seed ^ a.dropout_stream) ^ ctx.step);
#pragma omp parallel for schedule(static) if (R * a.in >= parallel_grain(1 << 15))
  for (int64_t r = 0; r < R; ++r)
    for (int64_t c = 0; c < a.in; ++c) {
      const bool keep = mix(base ^ static_cast<uint64_t>(r * a.in + c)) >= threshold;
      out[r * a.in + c] = keep ? x[r * ldx + c] * keep_scale : 0.0f;
    }
  return out;
}

bool uses_dropout(const LoraAdapter& a, const DropoutContext& ctx) { return ctx.training && a.dropout > 0; }

}  // namespace

void linear_layer_forward(const Linear& lin, float* y, int64_t ldy, const float* x, int64_t ldx, int64_t R,
                    float* lora_t, bool accumulate, const DropoutContext& dropout, Arena& arena) {
  linear_forward(y, ldy, x, ldx, R, lin.weight, accumulate);
  if (lin.has_bias()) bias_forward(y, ldy, R, lin.bias.data(), lin.out());
  if (!lin.lora) return;
  const LoraAdapter& a = *lin.lora;
  ArenaScope scope(arena);
  const float* xin = x;
  int64_t ldxin = ldx;
  if (uses_dropout(a, dropout)) {
    xin = dropout_copy(a, x, ldx, R, dropout, arena);
    ldxin = a.in;
  }
  // t = dropout(x)·Aᵀ [R, r];  y += (scale·t)·Bᵀ
  linear_forward(lora_t, a.rank, xin, ldxin, R, a.gemm_A);
  float* scaled_t = arena.alloc<float>(R * a.rank);
  for (int64_t i = 0; i < R * a.rank; ++i) scaled_t[i] = a.scale * lora_t[i];
  linear_forward(y, ldy, scaled_t, a.rank, R, a.gemm_B, /*accumulate=*/true);
}

void linear_layer_backward(const Linear& lin, float* dx, int64_t lddx, bool accumulate_dx, const float* dy, int64_t lddy,
                     const float* x, int64_t ldx, const float* lora_t, int64_t R, const DropoutContext& dropout,
                     Arena& arena) {
  const int64_t in = lin.in(), out = lin.out();
  const Precision p = lin.weight.precision();
  // y = x·Wᵀ:  dx = dy·W,  dW += dyᵀ·x
  if (dx) linear_backward_input(dx, lddx, dy, lddy, R, lin.weight, accumulate_dx);
  if (lin.master && lin.master->trainable())
    linear_backward_weight(lin.master->grad_data(), dy, lddy, x, ldx, R, out, in, p, /*accumulate=*/true);
  // y += b:  db += Σ_rows dy
  if (lin.bias.trainable()) bias_backward(lin.bias.grad_data(), dy, lddy, R, out);
  if (!lin.lora) return;
  const LoraAdapter& a = *lin.lora;
  ArenaScope scope(arena);
  // y += (scale·t)·Bᵀ:  dB += dyᵀ·(scale·t),  d(scale·t) = dy·B → dt = scale·dy·B
  float* scaled_t = arena.alloc<float>(R * a.rank);
  for (int64_t i = 0; i < R * a.rank; ++i) scaled_t[i] = a.scale * lora_t[i];
  if (a.B.trainable()) linear_backward_weight(a.B.grad_data(), dy, lddy, scaled_t, a.rank, R, out, a.rank, p, true);
  float* dt = arena.alloc<float>(R * a.rank);
  linear_backward_input(dt, a.rank, dy, lddy, R, a.gemm_B, /*accumulate=*/false);
  for (int64_t i = 0; i < R * a.rank; ++i) dt[i] *= a.scale;
  // t = dropout(x)·Aᵀ:  dA += dtᵀ·dropout(x),  d dropout(x) = dt·A
  const float* xin = x;
  int64_t ldxin = ldx;
  const bool drop = uses_dropout(a, dropout);
  if (drop) {
    xin = dropout_copy(a, x, ldx, R, dropout, arena);
    ldxin = in;
  }
  if (a.A.trainable()) linear_backward_weight(a.A.grad_data(), dt, a.rank, xin, ldxin, R, a.rank, in, p, true);
  if (!dx) return;
  if (!drop) {
    linear_backward_input(dx, lddx, dt, a.rank, R, a.gemm_A, /*accumulate=*/true);
    return;
  }
  // Through the dropout: the same mask and 1/(1 − p), applied to dt·A.
  float* dxin = arena.alloc<float>(R * in);
  linear_backward_input(dxin, in, dt, a.rank, R, a.gemm_A, /*accumulate=*/false);
  float* masked = dropout_copy(a, dxin, in, R, dropout, arena);
  for (int64_t r = 0; r < R; ++r)
    for (int64_t c = 0; c < in; ++c) dx[r * lddx + c] += masked[r * in + c];
}

}  // namespace ll
