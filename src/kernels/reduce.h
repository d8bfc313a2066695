// Reductions and scaling over flat f32 buffers: what gradient clipping and the NaN checks of a
// training step need (one pass over the trainable store).
#pragma once
#include <cstdint>

namespace ll {

// Σ g[i]² in double, for the global gradient norm. Summed in fixed-size blocks combined in a fixed
// order: the result does not depend on the thread count.
double sum_of_squares(const float* g, int64_t n);

// x[n] *= s  (gradient clipping).
void scale_inplace(float* x, int64_t n, float s);

// Index of the first NaN or ±Inf in x[n], or −1.
int64_t first_non_finite(const float* x, int64_t n);

}  // namespace ll
