// Roundings must follow PyTorch's: no multiply-add is fused unless written with std::fma.
#pragma GCC optimize("fp-contract=off")

#include "kernels/adamw.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/cpu_isa.h"
#include "core/threads.h"

namespace ll {

namespace {

constexpr int64_t kChunk = 1 << 14;  // elements per OpenMP work item (and per sum_of_squares block)

// The per-step scalars, each computed in double and rounded to f32 as PyTorch's kernels receive them.
struct AdamWScalars {
  float decay;         // 1 − lr·wd
  float beta1, one_minus_beta1;
  float beta2, one_minus_beta2;
  float bias_correction2_sqrt;  // sqrt(1 − β2^step)
  float eps;
  float neg_step_size;          // −lr / (1 − β1^step)
};

// PyTorch (torch/optim/adamw.py, _single_tensor_adamw), one line per tensor op, and how its
// vectorised CPU kernels round (found by comparing bits, adamw_test.cpp):
//   param.mul_(1 - lr * weight_decay)
//   exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)               fma(grad, alpha, self)
//   exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)  fma(value * grad, grad, self)
//   denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
//   param.addcdiv_(exp_avg, denom, value=-step_size)              self + (value * exp_avg) / denom
LL_ISA_INLINE void adamw_span_body(float* __restrict param, const float* __restrict grad, float* __restrict m,
                                float* __restrict v, int64_t n, AdamWScalars k) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = grad[i];
    const float p = param[i] * k.decay;
    const float m_new = std::fma(g, k.one_minus_beta1, m[i] * k.beta1);
    const float v_new = std::fma(k.one_minus_beta2 * g, g, v[i] * k.beta2);
    const float denom = std::sqrt(v_new) / k.bias_correction2_sqrt + k.eps;
    param[i] = p + k.neg_step_size * m_new / denom;
    m[i] = m_new;
    v[i] = v_new;
  }
}
LL_ISA_DISPATCH(void, adamw_span, (float* __restrict param, const float* __restrict grad, float* __restrict m, float* __restrict v, int64_t n, AdamWScalars k), (param, grad, m, v, n, k))

}  // namespace

void adamw_step(float* param, const float* grad, float* m, float* v, int64_t n, const AdamWSettings& s,
                int64_t step) {
  LL_CHECK(step >= 1);
  const double bias_correction1 = 1.0 - std::pow(s.beta1, static_cast<double>(step));
  const double bias_correction2 = 1.0 - std::pow(s.beta2, static_cast<double>(step));
  const AdamWScalars k{
      .decay = static_cast<float>(1.0 - s.lr * s.weight_decay),
      .beta1 = static_cast<float>(s.beta1),
      .one_minus_beta1 = static_cast<float>(1.0 - s.beta1),
      .beta2 = static_cast<float>(s.beta2),
      .one_minus_beta2 = static_cast<float>(1.0 - s.beta2),
      .bias_correction2_sqrt = static_cast<float>(std::sqrt(bias_correction2)),
      .eps = static_cast<float>(s.eps),
      .neg_step_size = static_cast<float>(-(s.lr / bias_correction1)),
  };
  const int64_t chunk = parallel_grain(kChunk), chunks = (n + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t i = c * chunk;
    adamw_span(param + i, grad + i, m + i, v + i, std::min(chunk, n - i), k);
  }
}

void adamw_step(float* param, const float* grad, float* m, float* v, int64_t n, float lr, float beta1, float beta2,
                float eps, float weight_decay, int64_t step) {
  adamw_step(param, grad, m, v, n, AdamWSettings{lr, beta1, beta2, eps, weight_decay}, step);
}

}  // namespace ll
