#include "kernels/attention/tile_io.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "core/error.h"
#include "core/cpu_isa.h"

namespace ll::attn {

namespace {

// Element offset of x(b, t, h, 0).
int64_t offset_of(const HeadsView& x, int64_t b, int64_t t, int64_t h, int64_t D) {
  return b * x.batch_stride + t * x.token_stride + h * D;
}

const float* f32_row(const HeadsView& x, int64_t b, int64_t t, int64_t h, int64_t D) {
  return static_cast<const float*>(x.data) + offset_of(x, b, t, h, D);
}

const uint16_t* half_row(const HeadsView& x, int64_t b, int64_t t, int64_t h, int64_t D) {
  return static_cast<const uint16_t*>(x.data) + offset_of(x, b, t, h, D);
}

float* f32_row_mut(const HeadsView& x, int64_t b, int64_t t, int64_t h, int64_t D) {
  LL_CHECK(x.dtype == DType::F32);
  return static_cast<float*>(x.data) + offset_of(x, b, t, h, D);
}

// bf16 → f32 is exact: the 16 bits become the top half of the f32. Inline so the loops below
// vectorise it in place (the per-call cost of a library conversion shows at one row per call).
inline float widen(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }

// f16 → f32, exact (a 16-bit KV cache in f16): normals move their exponent from bias 15 to 127,
// subnormals are m·2⁻²⁴ (exact in f32), Inf and NaN stay so.
inline float widen_f16(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16, em = h & 0x7fffu;
  uint32_t u;
  if (em >= 0x7c00u) u = 0x7f800000u | ((em & 0x3ffu) << 13);
  else if (em >= 0x0400u) u = (em << 13) + 0x38000000u;
  else u = std::bit_cast<uint32_t>(static_cast<float>(em) * 0x1p-24f);
  return std::bit_cast<float>(sign | u);
}

}  // namespace

LL_ISA_INLINE void load_rows_body(float* dst, int64_t ld, const HeadsView& x, int64_t b, int64_t t0, int64_t n, int64_t h,
                               int64_t D) {
  for (int64_t r = 0; r < n; ++r) {
    float* out = dst + r * ld;
    if (x.dtype == DType::F32) {
      std::memcpy(out, f32_row(x, b, t0 + r, h, D), static_cast<size_t>(D) * sizeof(float));
    } else if (x.dtype == DType::BF16) {
      const uint16_t* in = half_row(x, b, t0 + r, h, D);
      for (int64_t d = 0; d < D; ++d) out[d] = widen(in[d]);
    } else {
      const uint16_t* in = half_row(x, b, t0 + r, h, D);
      for (int64_t d = 0; d < D; ++d) out[d] = widen_f16(in[d]);
    }
    std::fill(out + D, out + ld, 0.0f);
  }
}
LL_ISA_DISPATCH(void, load_rows, (float* dst, int64_t ld, const HeadsView& x, int64_t b, int64_t t0, int64_t n, int64_t h, int64_t D), (dst, ld, x, b, t0, n, h, D))

LL_ISA_INLINE void load_rows_transposed_body(float* dst, int64_t ld, const HeadsView& x, int64_t b, int64_t t0,
                                          int64_t n, int64_t h, int64_t D) {
  // Eight rows at a time: every store run is eight contiguous floats of one output row d.
  constexpr int kRows = 8;
  for (int64_t r0 = 0; r0 < n; r0 += kRows) {
    const int rows = static_cast<int>(std::min<int64_t>(kRows, n - r0));
    if (x.dtype == DType::F32) {
      const float* src[kRows];
      for (int i = 0; i < rows; ++i) src[i] = f32_row(x, b, t0 + r0 + i, h, D);
      for (int64_t d = 0; d < D; ++d)
        for (int i = 0; i < rows; ++i) dst[d * ld + r0 + i] = src[i][d];
    } else {
      const uint16_t* src[kRows];
      for (int i = 0; i < rows; ++i) src[i] = half_row(x, b, t0 + r0 + i, h, D);
      if (x.dtype == DType::BF16) {
        for (int64_t d = 0; d < D; ++d)
          for (int i = 0; i < rows; ++i) dst[d * ld + r0 + i] = widen(src[i][d]);
      } else {
        for (int64_t d = 0; d < D; ++d)
          for (int i = 0; i < rows; ++i) dst[d * ld + r0 + i] = widen_f16(src[i][d]);
      }
    }
  }
  for (int64_t d = 0; d < D; ++d) std::fill(dst + d * ld + n, dst + (d + 1) * ld, 0.0f);
}
LL_ISA_DISPATCH(void, load_rows_transposed, (float* dst, int64_t ld, const HeadsView& x, int64_t b, int64_t t0, int64_t n, int64_t h, int64_t D), (dst, ld, x, b, t0, n, h, D))

void store_rows(const HeadsView& x, int64_t b, int64_t t0, int64_t n, int64_t h, int64_t D, const float* src,
                int64_t ld, const float* row_scale) {
  for (int64_t r = 0; r < n; ++r) {
    float* out = f32_row_mut(x, b, t0 + r, h, D);
    const float* in = src + r * ld;
    if (row_scale) {
      const float s = row_scale[r];
      for (int64_t d = 0; d < D; ++d) out[d] = in[d] * s;
    } else {
      std::memcpy(out, in, static_cast<size_t>(D) * sizeof(float));
    }
  }
}

void zero_rows(const HeadsView& x, int64_t b, int64_t t0, int64_t t1, int64_t heads, int64_t D) {
  for (int64_t t = t0; t < t1; ++t)
    for (int64_t h = 0; h < heads; ++h) std::fill_n(f32_row_mut(x, b, t, h, D), D, 0.0f);
}

LL_ISA_INLINE void rows_dot_body(float* delta, const float* dout_rows, int64_t ld, const HeadsView& o, int64_t b,
                              int64_t t0, int64_t n, int64_t h, int64_t D) {
  constexpr int kLanes = 8;  // independent partial sums, so the compiler can vectorise
  for (int64_t r = 0; r < n; ++r) {
    const float* orow = f32_row(o, b, t0 + r, h, D);
    const float* g = dout_rows + r * ld;
    float partial[kLanes] = {};
    int64_t d = 0;
    for (; d + kLanes <= D; d += kLanes)
      for (int i = 0; i < kLanes; ++i) partial[i] += g[d + i] * orow[d + i];
    for (; d < D; ++d) partial[0] += g[d] * orow[d];
    float sum = 0.0f;
    for (float p : partial) sum += p;
    delta[r] = sum;
  }
}
LL_ISA_DISPATCH(void, rows_dot, (float* delta, const float* dout_rows, int64_t ld, const HeadsView& o, int64_t b, int64_t t0, int64_t n, int64_t h, int64_t D), (delta, dout_rows, ld, o, b, t0, n, h, D))

void prefetch_rows(const HeadsView& x, int64_t b, int64_t t0, int64_t n, int64_t h, int64_t D) {
  constexpr int64_t kLine = 64;
  const int64_t esize = static_cast<int64_t>(dtype_size(x.dtype));
  const auto* base = static_cast<const char*>(x.data);
  for (int64_t r = 0; r < n; ++r) {
    const char* row = base + offset_of(x, b, t0 + r, h, D) * esize;
    for (int64_t byte = 0; byte < D * esize; byte += kLine) __builtin_prefetch(row + byte, 0, 2);
  }
}

}  // namespace ll::attn
