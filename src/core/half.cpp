#include "core/half.h"

#include "core/error.h"
#include "core/cpu_isa.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace ll {

float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t u;
  if (exp == 0) {
    if (mant == 0) {
      u = sign;
    } else {  // subnormal: normalise
      exp = 127 - 15 + 1;
      while ((mant & 0x400u) == 0) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ffu;
      u = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 31) {
    u = sign | 0x7f800000u | (mant << 13);
  } else {
    u = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint16_t f32_to_f16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint32_t sign = (u >> 16) & 0x8000u;
  const uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);  // NaN
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow -> inf
  if (abs < 0x38800000u) {                                              // subnormal or zero
    if (abs < 0x33000000u) return static_cast<uint16_t>(sign);
    const uint32_t exp = abs >> 23;
    const uint32_t mant = (abs & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - exp;  // 14..24
    uint32_t half = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1);
    const uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (half & 1u))) ++half;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t v = abs - 0x38000000u;  // rebias exponent 127 -> 15 (in place, mantissa kept)
  v += 0xfffu + ((v >> 13) & 1u);  // round to nearest even on the 13 dropped bits
  return static_cast<uint16_t>(sign | (v >> 13));
}

LL_ISA_INLINE void bf16_to_f32_body(float* dst, const uint16_t* src, int64_t n) {
  uint32_t* d = reinterpret_cast<uint32_t*>(dst);
  for (int64_t i = 0; i < n; ++i) d[i] = static_cast<uint32_t>(src[i]) << 16;
}
LL_ISA_DISPATCH(void, bf16_to_f32, (float* dst, const uint16_t* src, int64_t n), (dst, src, n))

LL_ISA_INLINE void f32_to_bf16_body(uint16_t* dst, const float* src, int64_t n) {
  const uint32_t* s = reinterpret_cast<const uint32_t*>(src);
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t u = s[i];
    const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    const bool nan = (u & 0x7fffffffu) > 0x7f800000u;
    dst[i] = static_cast<uint16_t>(nan ? ((u >> 16) | 0x40u) : rounded);
  }
}
LL_ISA_DISPATCH(void, f32_to_bf16, (uint16_t* dst, const float* src, int64_t n), (dst, src, n))

LL_ISA_INLINE void round_to_bf16_body(float* dst, const float* src, int64_t n) {
  const uint32_t* s = reinterpret_cast<const uint32_t*>(src);
  uint32_t* d = reinterpret_cast<uint32_t*>(dst);
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t u = s[i];
    const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    const bool nan = (u & 0x7fffffffu) > 0x7f800000u;
    d[i] = nan ? ((u & 0xffff0000u) | 0x400000u) : rounded;
  }
}
LL_ISA_DISPATCH(void, round_to_bf16, (float* dst, const float* src, int64_t n), (dst, src, n))

#if defined(__x86_64__)
// F16C converts 8 halves per instruction; the scalar tail and non-F16C CPUs use the bit code.
__attribute__((target("f16c,avx"))) static void f16_to_f32_f16c(float* dst, const uint16_t* src,
                                                                int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
  }
  for (; i < n; ++i) dst[i] = f16_to_f32(src[i]);
}

__attribute__((target("f16c,avx"))) static void f32_to_f16_f16c(uint16_t* dst, const float* src,
                                                                int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), h);
  }
  for (; i < n; ++i) dst[i] = f32_to_f16(src[i]);
}

static bool cpu_has_f16c() {
  static const bool has = __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx");
  return has;
}
#endif

void f16_to_f32(float* dst, const uint16_t* src, int64_t n) {
#if defined(__x86_64__)
  if (cpu_has_f16c()) return f16_to_f32_f16c(dst, src, n);
#endif
  for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(src[i]);
}

void f32_to_f16(uint16_t* dst, const float* src, int64_t n) {
#if defined(__x86_64__)
  if (cpu_has_f16c()) return f32_to_f16_f16c(dst, src, n);
#endif
  for (int64_t i = 0; i < n; ++i) dst[i] = f32_to_f16(src[i]);
}

void to_f32(float* dst, const void* src, DType src_dtype, int64_t n) {
  switch (src_dtype) {
    case DType::F32: std::memcpy(dst, src, n * sizeof(float)); return;
    case DType::BF16: bf16_to_f32(dst, static_cast<const uint16_t*>(src), n); return;
    case DType::F16: f16_to_f32(dst, static_cast<const uint16_t*>(src), n); return;
    case DType::I32: break;
  }
  LL_CHECK(!"to_f32: not a float dtype");
}

void from_f32(void* dst, DType dst_dtype, const float* src, int64_t n) {
  switch (dst_dtype) {
    case DType::F32: std::memcpy(dst, src, n * sizeof(float)); return;
    case DType::BF16: f32_to_bf16(static_cast<uint16_t*>(dst), src, n); return;
    case DType::F16: f32_to_f16(static_cast<uint16_t*>(dst), src, n); return;
    case DType::I32: break;
  }
  LL_CHECK(!"from_f32: not a float dtype");
}

}  // namespace ll
