// A projection of the model: a base weight W [out, in] — frozen, or trained through an f32
// master under --full — an optional bias b [out] (Qwen2's q/k/v) and an optional LoRA adapter:
//   y = x·Wᵀ + b + scale · t·Bᵀ,   t = dropout(x)·Aᵀ  [R, r]
// Forward and backward side by side, run by the model's backend; the backward never forms ΔW = B·A.
#pragma once
#include <cstdint>
#include <string>

#include "backend/backend.h"
#include "model/lora.h"
#include "model/param.h"

namespace ll {

struct Linear {
  std::string name;          // HF module name, "model.layers.0.self_attn.q_proj"
  GemmWeight weight;         // W as the GEMM reads it
  Param* master = nullptr;   // --full: W's f32 master and gradient (weight is prepared from it)
  Param bias;                // b [out] f32; empty = none. Trainable only when chosen (--full), as PEFT
                             // leaves it frozen under LoRA
  LoraAdapter* lora = nullptr;

  bool has_bias() const { return !bias.value.empty(); }

  int64_t in() const { return weight.cols(); }
  int64_t out() const { return weight.rows(); }
};

// y[R, out] (+)= x[R, in]·Wᵀ + b + LoRA. lora_t [R, r] receives t for the backward (required when
// lin.lora is set; may be scratch at inference). Arena supplies the ops' scratch.
void linear_layer_forward(Backend& backend, const Linear& lin, float* y, int64_t ldy, const float* x, int64_t ldx,
                          int64_t R, float* lora_t, bool accumulate, const DropoutContext& dropout, Arena& arena);

// Backward of the forward above, given dy [R, out], its input x and the saved lora_t:
//   dx        (+)= dy·W + (scale · dy·B ⊙ dropout) · A       (accumulate_dx chooses += or =)
//   dW         += dyᵀ·x                    (master trainable)
//   db         += Σ_rows dy                (bias trainable)
//   dB         += scale · dyᵀ·t            (LoRA)
//   dA         += (scale · dy·B)ᵀ · dropout(x)
// dx may be nullptr when no input gradient is needed (the first projection of a frozen path).
void linear_layer_backward(Backend& backend, const Linear& lin, float* dx, int64_t lddx, bool accumulate_dx,
                           const float* dy, int64_t lddy, const float* x, int64_t ldx, const float* lora_t, int64_t R,
                           const DropoutContext& dropout, Arena& arena);

}  // namespace ll
