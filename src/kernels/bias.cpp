#include "kernels/bias.h"

#include <algorithm>

#include "core/cpu_isa.h"
#include "core/threads.h"

namespace ll {

namespace {

constexpr int64_t kColumnBlock = 256;  // db columns owned by one OpenMP work item
constexpr int64_t kRowBlock = 64;      // rows summed into a block partial before it joins the total

LL_ISA_INLINE void add_row_body(float* __restrict y, const float* __restrict x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}
LL_ISA_DISPATCH(void, add_row, (float* __restrict y, const float* __restrict x, int64_t n), (y, x, n))

}  // namespace

void bias_forward(float* y, int64_t ld, int64_t rows, const float* b, int64_t n) {
#pragma omp parallel for schedule(static) if (rows * n > parallel_grain(32768))
  for (int64_t r = 0; r < rows; ++r) add_row(y + r * ld, b, n);
}

void bias_backward(float* db, const float* dy, int64_t ld, int64_t rows, int64_t n) {
  const int64_t column_blocks = (n + kColumnBlock - 1) / kColumnBlock;
#pragma omp parallel for schedule(static) if (rows * n > parallel_grain(32768))
  for (int64_t blk = 0; blk < column_blocks; ++blk) {
    const int64_t c0 = blk * kColumnBlock, width = std::min(kColumnBlock, n - c0);
    float total[kColumnBlock] = {};
    for (int64_t r0 = 0; r0 < rows; r0 += kRowBlock) {
      float partial[kColumnBlock] = {};
      for (int64_t r = r0; r < std::min(rows, r0 + kRowBlock); ++r) add_row(partial, dy + r * ld + c0, width);
      add_row(total, partial, width);
    }
    add_row(db + c0, total, width);
  }
}

}  // namespace ll
