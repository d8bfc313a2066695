// Token embedding lookup: y[i, :] = table[ids[i], :].
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace ll {

// y [n, C] f32 = rows ids[0..n) of table [V, C] (f32, f16 or bf16, rows contiguous, widened exactly).
// Every id is checked first: one outside [0, V) throws ll::InputError naming the id, its position
// and V, with y untouched.
void embedding_forward(float* y, const int32_t* ids, int64_t n, const Tensor& table);

// Backward of y[i, :] = table[ids[i], :]:
//   dtable[ids[i], :] += dy[i, :]   for every i   (ACCUMULATES into dtable [V, C] f32)
// Repeated ids are summed in the order of i, with threads splitting the columns, so the result is
// bit-identical whatever the thread count. Ids are checked as in the forward.
void embedding_backward(float* dtable, const float* dy, const int32_t* ids, int64_t n, int64_t V, int C);

}  // namespace ll
