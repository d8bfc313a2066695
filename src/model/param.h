// A tensor the model uses in f32 that may be trained: its value, and its gradient when it is
// trainable (empty when frozen). Norm weights, LoRA matrices, and the f32 masters of weights that
// --trainable / --full make trainable. Both are views into backend memory: a trainable one's into
// the model's TrainableStore (model/trainable_store.h), a frozen one's into a tensor the model owns.
#pragma once
#include <string>

#include "core/tensor.h"

namespace ll {

struct Param {
  Tensor value;  // f32
  Tensor grad;   // f32, same shape; empty = frozen

  bool trainable() const { return !grad.empty(); }
  float* data() const { return static_cast<float*>(value.data); }
  float* grad_data() const { return grad.empty() ? nullptr : static_cast<float*>(grad.data); }
  int64_t numel() const { return value.numel(); }
};

// A trainable tensor under the name it is saved with: an HF weight name
// ("model.layers.0.input_layernorm.weight") or a PEFT adapter name
// ("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight").
struct NamedParam {
  std::string name;
  Param* param;
};

}  // namespace ll
