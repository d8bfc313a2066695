// Matrix products of linear layers, run by oneDNN (the only GEMM engine in longlora).
//
// The CPU backend's GEMMs. Precision (core/precision.h) says what the inputs hold; accumulation is
// always f32 and outputs are f32:
//   F32  — inputs as they are (f16/bf16 weights widened exactly to f32);
//   BF16 — both inputs rounded to bf16 (what autocast-bf16 training feeds the GEMM). Where oneDNN
//          has a bf16 GEMM for this CPU (AVX512-BF16/AMX) it runs natively on bf16 operands;
//          elsewhere the rounded values are held in f32 and the f32 GEMM runs: same numbers,
//          f32 speed.
// Weights use the HF Linear layout W[N, K] (out, in): y = x·Wᵀ.
#pragma once
#include <cstdint>

#include "core/arena.h"
#include "core/precision.h"
#include "core/tensor.h"

namespace ll {

// True when oneDNN runs bf16×bf16→f32 matmul on this CPU.
bool native_bf16_gemm();

// The dtype the GEMMs at precision p read a weight in on this CPU: bf16 where the bf16 GEMM is native,
// else f32 (holding bf16-rounded values at BF16).
DType gemm_weight_dtype(Precision p);

// dst [N, K] ← src [N, K] (f32/f16/bf16, contiguous) as the GEMMs at precision p read it
// (gemm_weight_dtype(p); rounded to bf16 at BF16). Parallel; dst and src may not overlap.
void convert_gemm_weight(Tensor dst, const Tensor& src, Precision p);
// Whether src can be read by the GEMMs at precision p as it is (no copy needed): a weight of
// gemm_weight_dtype(p), or a 16-bit (f16/bf16) one where that is f32 — the GEMMs then widen it panel
// by panel in their scratch (and round it to bf16 at BF16), so a 16-bit checkpoint stays mapped.
bool gemm_reads_in_place(const Tensor& src, Precision p);

// y[M, N] (+)= x[M, K] · Wᵀ, W [N, K] prepared for precision p (convert_gemm_weight, or read in place:
// gemm_reads_in_place). Row strides
// ldx ≥ K, ldy ≥ N (floats). At BF16 the activation operand is converted in `scratch`.
void linear_forward(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t M, const Tensor& w, Precision p,
                    bool accumulate, Arena& scratch);

// Backward of y = x·Wᵀ with respect to x: dx[M, K] (+)= dy[M, N] · W.
void linear_backward_input(float* dx, int64_t lddx, const float* dy, int64_t lddy, int64_t M, const Tensor& w,
                           Precision p, bool accumulate, Arena& scratch);

// Backward of y = x·Wᵀ with respect to W: dW[N, K] (+)= dyᵀ[N, M] · x[M, K] (f32 result).
void linear_backward_weight(float* dw, const float* dy, int64_t lddy, const float* x, int64_t ldx, int64_t M,
                            int64_t N, int64_t K, Precision p, bool accumulate, Arena& scratch);

// Bytes each of the three takes from `scratch` for its bf16 operand conversions (0 at F32) and a
// streamed 16-bit weight's panel; the memory plan's dry runs take the same. w: the weight as the
// GEMMs get it (shape and dtype; its data is not read).
size_t linear_forward_scratch_bytes(int64_t M, const Tensor& w, Precision p);
size_t linear_backward_input_scratch_bytes(int64_t M, const Tensor& w, Precision p);
size_t linear_backward_weight_scratch_bytes(int64_t M, int64_t N, int64_t K, Precision p);

}  // namespace ll
