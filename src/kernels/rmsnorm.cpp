#include "kernels/rmsnorm.h"

#include <algorithm>
#include <cmath>

#include "core/cpu_isa.h"
#include "core/threads.h"

namespace ll {

namespace {

constexpr int kLanes = 16;  // independent partial sums: one AVX-512 or two AVX2 registers

// Σ_c x[c]²  (f32, kLanes partial sums combined in a fixed order)
LL_ISA_INLINE float sum_of_squares_row_body(const float* x, int C) {
  float lane[kLanes] = {};
  int c = 0;
  for (; c + kLanes <= C; c += kLanes)
    for (int l = 0; l < kLanes; ++l) lane[l] += x[c + l] * x[c + l];
  float sum = 0;
  for (; c < C; ++c) sum += x[c] * x[c];
  for (int l = 0; l < kLanes; ++l) sum += lane[l];
  return sum;
}
LL_ISA_DISPATCH(float, sum_of_squares_row, (const float* x, int C), (x, C))

// Σ_c dy[c]·w[c]·x[c]
LL_ISA_INLINE float dot3_row_body(const float* dy, const float* w, const float* x, int C) {
  float lane[kLanes] = {};
  int c = 0;
  for (; c + kLanes <= C; c += kLanes)
    for (int l = 0; l < kLanes; ++l) lane[l] += dy[c + l] * w[c + l] * x[c + l];
  float sum = 0;
  for (; c < C; ++c) sum += dy[c] * w[c] * x[c];
  for (int l = 0; l < kLanes; ++l) sum += lane[l];
  return sum;
}
LL_ISA_DISPATCH(float, dot3_row, (const float* dy, const float* w, const float* x, int C), (dy, w, x, C))

LL_ISA_INLINE void scale_row_body(float* y, const float* x, const float* w, float rstd, int C) {
  for (int c = 0; c < C; ++c) y[c] = x[c] * rstd * w[c];
}
LL_ISA_DISPATCH(void, scale_row, (float* y, const float* x, const float* w, float rstd, int C), (y, x, w, rstd, C))

// dx[c] += rstd · (dy[c]·w[c] − x[c]·k)   with k = rstd² · mean(dy·w·x)
LL_ISA_INLINE void input_grad_row_body(float* __restrict dx, const float* __restrict dy, const float* __restrict w,
                                    const float* __restrict x, float rstd, float k, int C) {
  for (int c = 0; c < C; ++c) dx[c] += rstd * (dy[c] * w[c] - x[c] * k);
}
LL_ISA_DISPATCH(void, input_grad_row, (float* __restrict dx, const float* __restrict dy, const float* __restrict w, const float* __restrict x, float rstd, float k, int C), (dx, dy, w, x, rstd, k, C))

// acc[c] += dy[c] · x[c] · rstd   over one row, for a block of columns
LL_ISA_INLINE void weight_grad_row_body(float* __restrict acc, const float* __restrict dy, const float* __restrict x,
                                     float rstd, int n) {
  for (int c = 0; c < n; ++c) acc[c] += dy[c] * x[c] * rstd;
}
LL_ISA_DISPATCH(void, weight_grad_row, (float* __restrict acc, const float* __restrict dy, const float* __restrict x, float rstd, int n), (acc, dy, x, rstd, n))

constexpr int kColumnBlock = 256;  // dw columns owned by one OpenMP work item
constexpr int64_t kRowBlock = 64;  // rows summed into a block partial before it joins the total

}  // namespace

void rmsnorm_forward(float* y, float* rstd, const float* x, const float* w, int64_t rows, int C, float eps) {
#pragma omp parallel for schedule(static) if (rows * C > parallel_grain(32768))
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * C;
    const float mean_sq = sum_of_squares_row(xr, C) / static_cast<float>(C);
    const float rs = 1.0f / std::sqrt(mean_sq + eps);
    if (rstd) rstd[r] = rs;
    scale_row(y + r * C, xr, w, rs, C);
  }
}

// Forward: y = x · rstd · w with rstd = (mean(x²) + eps)^(−1/2), so ∂rstd/∂x = −rstd³ · x / C and
//   dx = rstd · (dy·w − x · rstd² · mean(dy·w·x)),   dw = Σ_rows dy · x · rstd.
void rmsnorm_backward(float* dx, float* dw, const float* dy, const float* x, const float* w, const float* rstd,
                      int64_t rows, int C) {
  // dx: each row on its own.
#pragma omp parallel for schedule(static) if (rows * C > parallel_grain(32768))
  for (int64_t r = 0; r < rows; ++r) {
    const float* dyr = dy + r * C;
    const float* xr = x + r * C;
    const float rs = rstd[r];
    const float k = rs * rs * (dot3_row(dyr, w, xr, C) / static_cast<float>(C));
    input_grad_row(dx + r * C, dyr, w, xr, rs, k, C);
  }
  if (!dw) return;
  // dw: parallel over column blocks; within a block, rows are summed in kRowBlock pieces (a
  // two-level sum keeps the f32 error small for long sequences). The order never depends on the
  // number of threads.
  const int column_blocks = (C + kColumnBlock - 1) / kColumnBlock;
#pragma omp parallel for schedule(static) if (rows * C > parallel_grain(32768))
  for (int b = 0; b < column_blocks; ++b) {
    const int c0 = b * kColumnBlock, width = std::min(kColumnBlock, C - c0);
    float total[kColumnBlock] = {};
    for (int64_t r0 = 0; r0 < rows; r0 += kRowBlock) {
      float partial[kColumnBlock] = {};
      for (int64_t r = r0; r < std::min(rows, r0 + kRowBlock); ++r)
        weight_grad_row(partial, dy + r * C + c0, x + r * C + c0, rstd[r], width);
      for (int c = 0; c < width; ++c) total[c] += partial[c];
    }
    for (int c = 0; c < width; ++c) dw[c0 + c] += total[c];
  }
}

}  // namespace ll
