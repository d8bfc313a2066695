// The optimizer of a training run: torch.optim.AdamW over the model's trainable store (its values
// are the f32 master weights), after global-norm gradient clipping as torch.nn.utils.clip_grad_norm_
// does it. State: AdamW's exp_avg m and exp_avg_sq v (the store's moment buffers) and the shared
// update count. Each operation is one pass of the backend over one flat buffer.
#pragma once
#include <cstdint>

#include "backend/backend.h"
#include "kernels/adamw.h"
#include "model/trainable_store.h"

namespace ll {

// The global L2 norm of the gradients, sqrt(Σ g²) summed in double and rounded to f32 once.
// torch.nn.utils.clip_grad_norm_ takes f32 norms per tensor, then the norm of those, so its
// total_norm may differ from this in the last bit (and differs between its own AVX2 and AVX-512
// kernels); optimizer_oracle_test.cpp measures how often.
float global_grad_norm(Backend& backend, const TrainableStore& store);

// clip_grad_norm_'s factor, in f32 and in torch's operation order (a Python float over a tensor
// is reciprocal(tensor) · float):  coef = min(1, max_norm · (1 / (total_norm + 1e-6))).
float clip_coefficient(float total_norm, double max_norm);

// Measures the global norm and, when max_norm > 0, multiplies every gradient by
// clip_coefficient (HF Trainer clips only when max_grad_norm > 0). Returns the norm before clipping.
float clip_grad_norm(Backend& backend, TrainableStore& store, double max_norm);

// Every gradient *= factor.
void scale_grads(Backend& backend, TrainableStore& store, float factor);

class AdamWOptimizer {
 public:
  // Allocates the store's moments (zero). `settings.lr` is ignored: every step() is given the
  // scheduled rate. settings.weight_decay applies to the store's decaying parameters
  // (takes_weight_decay), the others get none: HF Trainer's two parameter groups, each one pass.
  AdamWOptimizer(Backend& backend, TrainableStore& store, const AdamWSettings& settings);
  // ZeRO-1: moments only for the store's elements [begin, end) (multiples of 16), and step()
  // updates only those; the caller gathers the other ranks' values.
  AdamWOptimizer(Backend& backend, TrainableStore& store, const AdamWSettings& settings, int64_t begin, int64_t end);

  // One update of every parameter (of the shard) from its gradient with learning rate `lr` (HF's
  // optimizer.step() after the scheduler set the group's lr).
  void step(double lr);
  int64_t steps_done() const { return steps_; }
  // A resumed run: the store's values and moments were loaded; this many updates are done.
  void restore(int64_t steps_done);

  TrainableStore& store() const { return store_; }
  Backend& backend() const { return backend_; }

 private:
  Backend& backend_;
  TrainableStore& store_;
  AdamWSettings settings_;
  int64_t steps_ = 0;
};

}  // namespace ll
