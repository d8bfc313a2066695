// bf16 and f16 <-> f32 conversion: scalar inline helpers and vectorised bulk converters.
// f32 -> bf16 rounds to nearest even (as PyTorch does); NaN stays NaN.
#pragma once
#include <cstdint>
#include <cstring>

#include "core/dtype.h"

namespace ll {

inline float bf16_to_f32(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

// f32 value after a round trip through bf16 (what a bf16 GEMM input holds).
inline float round_to_bf16(float f) { return bf16_to_f32(f32_to_bf16(f)); }

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);

// Bulk conversions over n elements (vectorised, single-threaded; callers parallelise).
void bf16_to_f32(float* dst, const uint16_t* src, int64_t n);
void f32_to_bf16(uint16_t* dst, const float* src, int64_t n);
void f16_to_f32(float* dst, const uint16_t* src, int64_t n);
void f32_to_f16(uint16_t* dst, const float* src, int64_t n);
// dst[i] = round_to_bf16(src[i]); dst may equal src.
void round_to_bf16(float* dst, const float* src, int64_t n);

// Any float dtype (f32/f16/bf16) to f32 and back, n contiguous elements.
void to_f32(float* dst, const void* src, DType src_dtype, int64_t n);
void from_f32(void* dst, DType dst_dtype, const float* src, int64_t n);

}  // namespace ll
