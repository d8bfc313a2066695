#include "kernels/cross_entropy.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/cpu_isa.h"
#include "core/threads.h"
#include "kernels/exp_f32.h"

namespace ll {

namespace {

constexpr int kLanes = 16;  // independent partial results: one AVX-512 or two AVX2 registers

LL_ISA_INLINE float max_row_body(const float* x, int V) {
  float lane[kLanes];
  for (int l = 0; l < kLanes; ++l) lane[l] = -std::numeric_limits<float>::infinity();
  int c = 0;
  for (; c + kLanes <= V; c += kLanes)
    for (int l = 0; l < kLanes; ++l) lane[l] = std::max(lane[l], x[c + l]);
  float m = -std::numeric_limits<float>::infinity();
  for (; c < V; ++c) m = std::max(m, x[c]);
  for (int l = 0; l < kLanes; ++l) m = std::max(m, lane[l]);
  return m;
}
LL_ISA_DISPATCH(float, max_row, (const float* x, int V), (x, V))

// lane[l] += e[i] for every i ≡ l (mod kLanes), in increasing i. Element c of a row always lands in
// lane c mod kLanes in the same order, however the row is cut into kLanes-aligned pieces, so
// the two functions below add the same exponentials in the same order.
inline void add_to_lanes(float* lane, const float* e, int n) {
  int i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) lane[l] += e[i + l];
  for (int l = 0; i + l < n; ++l) lane[l] += e[i + l];
}

inline float sum_lanes(const float* lane) {
  float sum = 0;
  for (int l = 0; l < kLanes; ++l) sum += lane[l];
  return sum;
}

// Σ_c exp(x[c] − max), through a stack buffer so that the exp loop and the sum loop both vectorise.
LL_ISA_INLINE float sum_exp_row_body(const float* x, float max, int V) {
  constexpr int kBlock = 16 * kLanes;
  float e[kBlock];
  float lane[kLanes] = {};
  for (int c0 = 0; c0 < V; c0 += kBlock) {
    const int n = std::min(kBlock, V - c0);
    for (int i = 0; i < n; ++i) e[i] = exp_f32(x[c0 + i] - max);
    add_to_lanes(lane, e, n);
  }
  return sum_lanes(lane);
}
LL_ISA_DISPATCH(float, sum_exp_row, (const float* x, float max, int V), (x, max, V))

// x[c] ← exp(x[c] − max) in place; returns Σ_c of them, bit-identical to sum_exp_row.
LL_ISA_INLINE float exp_row_inplace_body(float* x, float max, int V) {
  for (int c = 0; c < V; ++c) x[c] = exp_f32(x[c] - max);
  float lane[kLanes] = {};
  add_to_lanes(lane, x, V);
  return sum_lanes(lane);
}
LL_ISA_DISPATCH(float, exp_row_inplace, (float* x, float max, int V), (x, max, V))

LL_ISA_INLINE void scale_row_body(float* x, float s, int V) {
  for (int c = 0; c < V; ++c) x[c] *= s;
}
LL_ISA_DISPATCH(void, scale_row, (float* x, float s, int V), (x, s, V))

LL_ISA_INLINE void shift_row_body(float* out, const float* x, float shift, int V) {
  for (int c = 0; c < V; ++c) out[c] = x[c] - shift;
}
LL_ISA_DISPATCH(void, shift_row, (float* out, const float* x, float shift, int V), (out, x, shift, V))

void check_targets(const int32_t* targets, int64_t rows, int V) {
  for (int64_t r = 0; r < rows; ++r)
    if (targets[r] != kIgnoreIndex && (targets[r] < 0 || targets[r] >= V))
      fail_input("cross-entropy", "target " + std::to_string(targets[r]) + " at row " + std::to_string(r) +
                                      " is outside the vocabulary [0, " + std::to_string(V) +
                                      ") and is not the ignore index -100");
}

// loss = logsumexp − logit[target] = max + log(Σ exp(x − max)) − logit[target]
double row_loss(float max, float sum_exp, float target_logit) {
  return static_cast<double>(max) + std::log(static_cast<double>(sum_exp)) - static_cast<double>(target_logit);
}

double sum_in_order(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}

}  // namespace

double softmax_cross_entropy(float* logits, const int32_t* targets, int64_t rows, int V, float grad_scale) {
  check_targets(targets, rows, V);
  std::vector<double> losses(static_cast<size_t>(rows), 0.0);
#pragma omp parallel for schedule(static) if (rows * V > parallel_grain(32768))
  for (int64_t r = 0; r < rows; ++r) {
    float* x = logits + r * V;
    const int32_t target = targets[r];
    if (target == kIgnoreIndex) {
      std::fill(x, x + V, 0.0f);
      continue;
    }
    const float target_logit = x[target];
    const float max = max_row(x, V);
    const float sum = exp_row_inplace(x, max, V);  // x now holds exp(x − max)
    losses[r] = row_loss(max, sum, target_logit);
    // Forward: loss = logsumexp(x) − x[target]  →  d loss / d x = softmax(x) − onehot(target)
    scale_row(x, grad_scale / sum, V);
    x[target] -= grad_scale;
  }
  return sum_in_order(losses);
}

double cross_entropy_loss(const float* logits, const int32_t* targets, int64_t rows, int V) {
  check_targets(targets, rows, V);
  std::vector<double> losses(static_cast<size_t>(rows), 0.0);
#pragma omp parallel for schedule(static) if (rows * V > parallel_grain(32768))
  for (int64_t r = 0; r < rows; ++r) {
    if (targets[r] == kIgnoreIndex) continue;
    const float* x = logits + r * V;
    const float max = max_row(x, V);
    losses[r] = row_loss(max, sum_exp_row(x, max, V), x[targets[r]]);
  }
  return sum_in_order(losses);
}

void log_softmax_row(float* out, const float* logits, int V) {
  const float max = max_row(logits, V);
  const float lse = max + std::log(sum_exp_row(logits, max, V));
  shift_row(out, logits, lse, V);
}

int argmax_row(const float* logits, int V) {
  int best = 0;
  for (int c = 1; c < V; ++c)
    if (logits[c] > logits[best]) best = c;
  return best;
}

}  // namespace ll
