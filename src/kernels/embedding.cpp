#include "kernels/embedding.h"

#include <algorithm>
#include <string>

#include "core/half.h"
#include "core/cpu_isa.h"
#include "core/threads.h"

namespace ll {

namespace {

void check_ids(const int32_t* ids, int64_t n, int64_t V) {
  for (int64_t i = 0; i < n; ++i)
    if (ids[i] < 0 || ids[i] >= V)
      fail_input("embedding", "token id " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
                                  " is outside the vocabulary [0, " + std::to_string(V) + ")");
}

LL_ISA_INLINE void add_row_body(float* __restrict y, const float* __restrict x, int n) {
  for (int c = 0; c < n; ++c) y[c] += x[c];
}
LL_ISA_DISPATCH(void, add_row, (float* __restrict y, const float* __restrict x, int n), (y, x, n))

constexpr int kColumnBlock = 128;  // dtable columns owned by one OpenMP work item

}  // namespace

void embedding_forward(float* y, const int32_t* ids, int64_t n, const Tensor& table) {
  if (table.ndim != 2 || table.stride[1] != 1 || table.dtype == DType::I32)
    fail_expected("embedding", "table", "a [V, C] f32/f16/bf16 tensor with contiguous rows",
                  std::string(dtype_name(table.dtype)) + " " + table.shape_str());
  const int64_t V = table.shape[0], C = table.shape[1];
  check_ids(ids, n, V);
  const size_t row_bytes = static_cast<size_t>(table.stride[0]) * dtype_size(table.dtype);
  const char* base = static_cast<const char*>(table.data);
#pragma omp parallel for schedule(static) if (n * C > parallel_grain(32768))
  for (int64_t i = 0; i < n; ++i) to_f32(y + i * C, base + ids[i] * row_bytes, table.dtype, C);
}

// Forward: y[i, :] = table[ids[i], :]  →  dtable[ids[i], :] += dy[i, :].
void embedding_backward(float* dtable, const float* dy, const int32_t* ids, int64_t n, int64_t V, int C) {
  check_ids(ids, n, V);
  const int column_blocks = (C + kColumnBlock - 1) / kColumnBlock;
#pragma omp parallel for schedule(static) if (n * C > parallel_grain(32768))
  for (int b = 0; b < column_blocks; ++b) {
    const int c0 = b * kColumnBlock, width = std::min(kColumnBlock, C - c0);
    for (int64_t i = 0; i < n; ++i) add_row(dtable + ids[i] * int64_t{C} + c0, dy + i * C + c0, width);
  }
}

}  // namespace ll
