// RMSNorm as Hugging Face's LlamaRMSNorm computes it in f32:
//   y = x · rsqrt(mean(x²) + eps) · w        per row of C features.
#pragma once
#include <cstdint>

namespace ll {

// y[rows, C] = x · rstd · w with rstd[r] = 1 / sqrt(mean_c x[r, c]² + eps).
// x [rows, C], w [C]. rstd [rows] is saved for the backward; pass nullptr at inference.
// y may equal x (in place).
void rmsnorm_forward(float* y, float* rstd, const float* x, const float* w, int64_t rows, int C, float eps);

// Backward of y = x · rstd · w, with rstd = (mean(x²) + eps)^(-1/2) saved by the forward:
//   dx[r, :] += rstd · (dy·w − x · rstd² · mean_c(dy·w·x))       (ACCUMULATES into dx)
//   dw[:]    += Σ_r dy[r, :] · x[r, :] · rstd[r]                  (ACCUMULATES; nullptr = frozen w)
// dy, x, dx: [rows, C]; w, dw: [C]. dx must not overlap dy or x. dw is summed over rows in a fixed
// order that does not depend on the thread count, so it is bit-identical from run to run.
void rmsnorm_backward(float* dx, float* dw, const float* dy, const float* x, const float* w, const float* rstd,
                      int64_t rows, int C);

}  // namespace ll
