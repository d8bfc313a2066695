#include "kernels/reduce.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/cpu_isa.h"
#include "core/threads.h"

namespace ll {

namespace {

constexpr int64_t kChunk = 1 << 14;  // elements per OpenMP work item (and per sum_of_squares block)

LL_ISA_INLINE double sum_of_squares_span_body(const float* g, int64_t n) {
  constexpr int kLanes = 8;
  double lane[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) lane[l] += static_cast<double>(g[i + l]) * g[i + l];
  double sum = 0;
  for (; i < n; ++i) sum += static_cast<double>(g[i]) * g[i];
  for (int l = 0; l < kLanes; ++l) sum += lane[l];
  return sum;
}
LL_ISA_DISPATCH(double, sum_of_squares_span, (const float* g, int64_t n), (g, n))

LL_ISA_INLINE void scale_span_body(float* x, int64_t n, float s) {
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}
LL_ISA_DISPATCH(void, scale_span, (float* x, int64_t n, float s), (x, n, s))

// Whether x[n] holds a NaN or ±Inf: x − x is 0 for finite x and NaN otherwise, so a vectorised sum
// without branches answers for a whole block.
LL_ISA_INLINE bool any_non_finite_body(const float* x, int64_t n) {
  constexpr int kLanes = 16;
  float lane[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) lane[l] += x[i + l] - x[i + l];
  float acc = 0;
  for (; i < n; ++i) acc += x[i] - x[i];
  for (int l = 0; l < kLanes; ++l) acc += lane[l];
  return std::isnan(acc);
}
LL_ISA_DISPATCH(bool, any_non_finite, (const float* x, int64_t n), (x, n))

}  // namespace

double sum_of_squares(const float* g, int64_t n) {
  const int64_t chunk = parallel_grain(kChunk), chunks = (n + chunk - 1) / chunk;
  std::vector<double> partial(static_cast<size_t>(chunks));
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t i = c * chunk;
    partial[c] = sum_of_squares_span(g + i, std::min(chunk, n - i));
  }
  double sum = 0;
  for (double p : partial) sum += p;
  return sum;
}

void scale_inplace(float* x, int64_t n, float s) {
  const int64_t chunk = parallel_grain(kChunk), chunks = (n + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t i = c * chunk;
    scale_span(x + i, std::min(chunk, n - i), s);
  }
}

int64_t first_non_finite(const float* x, int64_t n) {
  const int64_t chunk = parallel_grain(kChunk), chunks = (n + chunk - 1) / chunk;
  int64_t first_chunk = chunks;
#pragma omp parallel for schedule(static) reduction(min : first_chunk) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c)
    if (any_non_finite(x + c * chunk, std::min(chunk, n - c * chunk))) first_chunk = std::min(first_chunk, c);
  if (first_chunk == chunks) return -1;
  for (int64_t i = first_chunk * chunk; i < n; ++i)
    if (!std::isfinite(x[i])) return i;
  return -1;
}

}  // namespace ll
