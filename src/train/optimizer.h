// The optimizer of a training run: torch.optim.AdamW over the model's trainable parameters (their
// f32 values are the master weights), after global-norm gradient clipping as
// torch.nn.utils.clip_grad_norm_ does it. State per parameter: exp_avg m and exp_avg_sq v (f32,
// the parameter's shape) and the shared update count.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "kernels/adamw.h"
#include "model/param.h"

namespace ll {

// The global L2 norm of the gradients, sqrt(Σ g²) summed in double and rounded to f32 once.
// torch.nn.utils.clip_grad_norm_ takes f32 norms per tensor, then the norm of those, so its
// total_norm may differ from this in the last bit (and differs between its own AVX2 and AVX-512
// kernels); train_oracle_test.cpp measures how often.
float global_grad_norm(const std::vector<NamedParam>& params);

// clip_grad_norm_'s factor, in f32 and in torch's operation order (a Python float over a tensor
// is reciprocal(tensor) · float):  coef = min(1, max_norm · (1 / (total_norm + 1e-6))).
float clip_coefficient(float total_norm, double max_norm);

// Measures the global norm and, when max_norm > 0, multiplies every gradient by
// clip_coefficient (HF Trainer clips only when max_grad_norm > 0). Returns the norm before clipping.
float clip_grad_norm(const std::vector<NamedParam>& params, double max_norm);

// Every gradient *= factor.
void scale_grads(const std::vector<NamedParam>& params, float factor);

// Whether weight decay applies to the trainable tensor `name`, by HF Trainer's rule
// (Trainer.get_decay_parameter_names): every parameter except those of normalisation layers (LLaMA's
// RMSNorm: input_layernorm, post_attention_layernorm, model.norm) and biases. LoRA matrices, embeddings,
// lm_head and projection weights decay.
bool takes_weight_decay(const std::string& name);

class AdamWOptimizer {
 public:
  // `settings.lr` is ignored: every step() is given the scheduled rate. settings.weight_decay applies
  // to the parameters takes_weight_decay() names, the others get none (HF Trainer's two parameter groups).
  AdamWOptimizer(std::vector<NamedParam> params, const AdamWSettings& settings);

  // One update of every parameter from its gradient with learning rate `lr` (HF's
  // optimizer.step() after the scheduler set the group's lr).
  void step(double lr);
  int64_t steps_done() const { return steps_; }

  // The state, for checkpoints: per parameter (in params order) its name, m and v.
  struct Slot {
    std::string name;
    Param* param;
    OwnedTensor m, v;  // f32, param's shape
    bool decays;       // takes_weight_decay(name)
  };
  const std::vector<Slot>& slots() const { return slots_; }
  // Restores a saved state: every m and v must already have been checked against slots()' shapes.
  void restore(int64_t steps_done, const std::vector<Tensor>& m, const std::vector<Tensor>& v);

 private:
  std::vector<Slot> slots_;
  AdamWSettings settings_;
  int64_t steps_ = 0;
};

}  // namespace ll
