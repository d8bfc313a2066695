#include "kernels/add.h"

#include "core/simd.h"
#include "core/threads.h"

namespace ll {

namespace {

constexpr int64_t kChunk = 1 << 16;  // elements per OpenMP work item

LL_MULTIVERSION void add_scaled_chunk(float* __restrict y, const float* __restrict x, float s, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += s * x[i];
}

LL_MULTIVERSION void add_chunk(float* __restrict y, const float* __restrict x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

}  // namespace

void add_inplace(float* y, const float* x, int64_t n) {
  const int64_t chunk = parallel_grain(kChunk), chunks = (n + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t begin = c * chunk;
    add_chunk(y + begin, x + begin, std::min(chunk, n - begin));
  }
}

void add_scaled_inplace(float* y, const float* x, float s, int64_t n) {
  const int64_t chunk = parallel_grain(kChunk), chunks = (n + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t begin = c * chunk;
    add_scaled_chunk(y + begin, x + begin, s, std::min(chunk, n - begin));
  }
}

}  // namespace ll
