// AdamW (decoupled weight decay) exactly as torch.optim.AdamW of PyTorch 1.13 computes it on CPU with
// foreach=False, amsgrad=False, maximize=False.
#pragma once
#include <cstdint>

namespace ll {

// Hyperparameters in double, as Python holds them: PyTorch derives its per-step scalars
// (1 − β1, lr / (1 − β1^step), ...) in double and rounds each to f32 once, and so does adamw_step.
struct AdamWSettings {
  double lr = 2e-5;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
};

// One update of n parameters; step is 1-based (the count including this update). Elementwise:
//   param *= 1 − lr·wd
//   m = β1·m + (1 − β1)·g
//   v = β2·v + (1 − β2)·g²
//   param −= (lr / (1 − β1^step)) · m / (sqrt(v) / sqrt(1 − β2^step) + eps)
// with PyTorch's f32 operation order and roundings (its AVX2/AVX-512 kernels fuse the m and v
// updates into multiply-adds; so does this, on every CPU), so results equal PyTorch's bit for bit
// (adamw_test.cpp checks 5 steps against torch.optim.AdamW).
void adamw_step(float* param, const float* grad, float* m, float* v, int64_t n, const AdamWSettings& s,
                int64_t step);

// The same with f32 hyperparameters (widened exactly to double): matches PyTorch given those
// f32 values, e.g. betas=(float(np.float32(0.9)), ...).
void adamw_step(float* param, const float* grad, float* m, float* v, int64_t n, float lr, float beta1, float beta2,
                float eps, float weight_decay, int64_t step);

}  // namespace ll
