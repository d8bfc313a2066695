// Matrix products of linear layers, run by oneDNN (the only GEMM engine in longlora).
//
// Precision says what the GEMM inputs hold; accumulation is always f32 and outputs are f32:
//   F32  — inputs as they are (f16/bf16 weights widened exactly to f32);
//   BF16 — both inputs rounded to bf16 (what autocast-bf16 training feeds the GEMM). Where oneDNN
//          has a bf16 GEMM for this CPU (AVX512-BF16/AMX) it runs natively on bf16 operands;
//          elsewhere the rounded values are held in f32 and the f32 GEMM runs: same numbers,
//          f32 speed.
// Weights use the HF Linear layout W[N, K] (out, in): y = x·Wᵀ.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace ll {

enum class Precision : uint8_t { F32, BF16 };
const char* precision_name(Precision p);

// True when oneDNN runs bf16×bf16→f32 matmul on this CPU.
bool native_bf16_gemm();

// A weight [N, K] in the dtype its GEMM consumes: a zero-copy view of the source when the
// source already is that dtype (an mmapped f32 checkpoint at F32, a bf16 checkpoint at native
// BF16), otherwise an owned converted copy. Trainable weights are prepared again after every
// optimizer step (update()).
class GemmWeight {
 public:
  GemmWeight() = default;
  GemmWeight(const Tensor& w, Precision p);  // w: [N, K] f32/f16/bf16, contiguous
  void update(const Tensor& w);               // re-prepare from new values, same shape

  const Tensor& view() const { return view_; }  // [N, K] f32, or bf16 for native BF16
  int64_t rows() const { return view_.shape[0]; }  // N (out features)
  int64_t cols() const { return view_.shape[1]; }  // K (in features)
  Precision precision() const { return precision_; }
  bool owns_copy() const { return !copy_.empty(); }
  bool empty() const { return view_.empty(); }

 private:
  Tensor view_;
  OwnedTensor copy_;
  Precision precision_ = Precision::F32;
};

// y[M, N] (+)= x[M, K] · Wᵀ. Row strides ldx ≥ K, ldy ≥ N (floats).
void linear_forward(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t M, const GemmWeight& w,
                    bool accumulate = false);

// Backward of y = x·Wᵀ with respect to x: dx[M, K] (+)= dy[M, N] · W.
void linear_backward_input(float* dx, int64_t lddx, const float* dy, int64_t lddy, int64_t M,
                           const GemmWeight& w, bool accumulate);

// Backward of y = x·Wᵀ with respect to W: dW[N, K] (+)= dyᵀ[N, M] · x[M, K] (f32 result).
void linear_backward_weight(float* dw, const float* dy, int64_t lddy, const float* x, int64_t ldx, int64_t M,
                            int64_t N, int64_t K, Precision p, bool accumulate);

}  // namespace ll
