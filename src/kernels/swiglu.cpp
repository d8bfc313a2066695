#include "kernels/swiglu.h"

#include <algorithm>

#include "core/cpu_isa.h"
#include "core/threads.h"
#include "kernels/exp_f32.h"

namespace ll {

namespace {

constexpr int64_t kChunk = 1 << 14;  // elements per OpenMP work item

inline float sigmoid(float g) { return 1.0f / (1.0f + exp_f32(-g)); }

LL_ISA_INLINE void forward_span_body(float* h, const float* gate, const float* up, int64_t n) {
  // h may alias gate or up: element i is read before it is written.
#pragma GCC ivdep
  for (int64_t i = 0; i < n; ++i) h[i] = gate[i] / (1.0f + exp_f32(-gate[i])) * up[i];  // as torch's silu
}
LL_ISA_DISPATCH(void, forward_span, (float* h, const float* gate, const float* up, int64_t n), (h, gate, up, n))

// Forward: h = g · s · u with s = sigmoid(g), s' = s · (1 − s):
//   dh/dg = u · (s + g · s · (1 − s)) = u · s · (1 + g · (1 − s)),   dh/du = g · s.
LL_ISA_INLINE void backward_span_body(float* dgate, float* dup, const float* dh, const float* gate, const float* up,
                                   int64_t n) {
  // dgate may alias gate and dup may alias up: element i is read before it is written.
#pragma GCC ivdep
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i], u = up[i], d = dh[i];
    const float s = sigmoid(g);
    dgate[i] = d * u * s * (1.0f + g * (1.0f - s));
    dup[i] = d * g * s;
  }
}
LL_ISA_DISPATCH(void, backward_span, (float* dgate, float* dup, const float* dh, const float* gate, const float* up, int64_t n), (dgate, dup, dh, gate, up, n))

}  // namespace

void swiglu_forward(float* h, const float* gate, const float* up, int64_t n) {
  const int64_t chunk = parallel_grain(kChunk), chunks = (n + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t i = c * chunk;
    forward_span(h + i, gate + i, up + i, std::min(chunk, n - i));
  }
}

void swiglu_backward(float* dgate, float* dup, const float* dh, const float* gate, const float* up, int64_t n) {
  const int64_t chunk = parallel_grain(kChunk), chunks = (n + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t i = c * chunk;
    backward_span(dgate + i, dup + i, dh + i, gate + i, up + i, std::min(chunk, n - i));
  }
}

void swiglu_forward_fused(float* h, const float* gate_up, int64_t T, int F) {
#pragma omp parallel for schedule(static) if (T * F > parallel_grain(kChunk))
  for (int64_t t = 0; t < T; ++t) {
    const float* row = gate_up + t * 2 * F;
    forward_span(h + t * F, row, row + F, F);
  }
}

void swiglu_backward_fused(float* dgate_up, const float* dh, const float* gate_up, int64_t T, int F) {
#pragma omp parallel for schedule(static) if (T * F > parallel_grain(kChunk))
  for (int64_t t = 0; t < T; ++t) {
    const float* row = gate_up + t * 2 * F;
    float* drow = dgate_up + t * 2 * F;
    backward_span(drow, drow + F, dh + t * F, row, row + F, F);
  }
}

}  // namespace ll
