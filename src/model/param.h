// A tensor the model uses in f32 that may be trained: its value, and its gradient when it is
// trainable (empty when frozen). Norm weights, LoRA matrices, and the f32 masters of weights
// that --trainable / --full make trainable.
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"

namespace ll {

struct Param {
  OwnedTensor value;  // f32
  OwnedTensor grad;   // f32, same shape; empty = frozen

  bool trainable() const { return !grad.empty(); }
  void make_trainable() { grad = OwnedTensor(DType::F32, value.view().shape, value.view().ndim); }
  const float* data() const { return value.as<float>(); }
  float* grad_data() const { return grad.empty() ? nullptr : grad.as<float>(); }
};

// A trainable tensor under the name it is saved with: an HF weight name
// ("model.layers.0.input_layernorm.weight") or a PEFT adapter name
// ("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight").
struct NamedParam {
  std::string name;
  Param* param;
};

}  // namespace ll
