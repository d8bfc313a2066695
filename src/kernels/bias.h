// The bias of a linear layer (Qwen2's q/k/v projections), forward and backward side by side:
//   y[r, :] += b                     over rows r of a [rows, n] block with row stride ld
//   db      += Σ_r dy[r, :]          (dx of y = x·Wᵀ + b is that of x·Wᵀ alone)
#pragma once
#include <cstdint>

namespace ll {

// y[r, c] += b[c] for r < rows, c < n; rows of y start ld floats apart (ld ≥ n).
void bias_forward(float* y, int64_t ld, int64_t rows, const float* b, int64_t n);

// db[c] += Σ_r dy[r, c]. Parallel over column blocks; rows are summed in blocks of 64 (a two-level f32
// sum, as rmsnorm's weight gradient), in an order independent of the thread count.
void bias_backward(float* db, const float* dy, int64_t ld, int64_t rows, int64_t n);

}  // namespace ll
