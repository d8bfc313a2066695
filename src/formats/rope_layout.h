// The two row orders of RoPE'd projections (q_proj, k_proj, and LoRA B matrices of them).
//
// Within each head of D rows, HF checkpoints use the rotate-half order: row j*D/2 + i holds
// component j (0 = first, 1 = second of the rotated pair) of pair i. GGUF (llama.cpp's converter,
// `w.reshape(n_head, 2, D/2, in).swapaxes(1, 2)`) and llama2.c use the interleaved order: row
// 2i + j. So, per head h: interleaved[h, 2i + j] = rotate_half[h, j*D/2 + i].
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace ll {

// w: contiguous [n_head * D, ...] of any dtype, D even. Returns a contiguous copy with its rows
// reordered rotate-half (HF) -> interleaved (GGUF).
OwnedTensor rotate_half_to_interleaved(const Tensor& w, int64_t n_head);
// The inverse: interleaved (GGUF) -> rotate-half (HF).
OwnedTensor interleaved_to_rotate_half(const Tensor& w, int64_t n_head);

}  // namespace ll
