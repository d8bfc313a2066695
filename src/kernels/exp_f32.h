// e^x in f32 for the kernels' vectorised loops (softmax, cross-entropy, SiLU).
#pragma once
#include <algorithm>
#include <bit>
#include <cstdint>

namespace ll {

// e^x in f32, without a libm call and without branches, so that a loop calling it vectorises inside
// a function copied per CPU path (core/cpu_isa.h; glibc's expf does not vectorise without -ffast-math).
// Method: x = n·ln2 + r with |r| ≤ ln2/2 (Cody–Waite split of ln2), e^r by a degree-6 polynomial
// (Cephes expf coefficients), then scaling by 2^n in two halves so that subnormal results come out
// naturally. Error against exact e^x for normal results: 1 ulp measured, ≤ 2 checked (add_test.cpp); results
// below the subnormal range are 0, above FLT_MAX +inf, and NaN stays NaN.
// The clamping and the special cases are integer operations on the bits: with float comparisons
// GCC (honouring -ftrapping-math) turns them into branches and gives up vectorising the caller.
inline float exp_f32(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f;  // few mantissa bits: n·kLn2Hi is exact
  constexpr float kLn2Lo = -2.12194440e-4f;
  constexpr float kRound = 12582912.0f;   // 1.5·2^23: t = v + kRound holds round(v) in its low bits
  constexpr uint32_t kSign = 0x80000000u, kInfBits = 0x7f800000u;
  constexpr uint32_t kMaxArgBits = 0x42b17217u;  // 88.7228317f: the largest x with finite e^x
  constexpr uint32_t kMinArgBits = 0x42d00000u;  // |−104.0f|: e^x rounds to 0 below it

  // Clamp x to [−104, 88.7228317] so that n stays small; the results outside are fixed up below.
  const uint32_t bits = std::bit_cast<uint32_t>(x);
  const uint32_t sign = bits >> 31, magnitude = bits & ~kSign;
  const uint32_t limit = kMaxArgBits + sign * (kMinArgBits - kMaxArgBits);
  const float xc = std::bit_cast<float>((bits & kSign) | std::min(magnitude, limit));

  const float t = xc * kLog2e + kRound;
  const float n = t - kRound;
  const int32_t n_int = static_cast<int32_t>(std::bit_cast<uint32_t>(t) - std::bit_cast<uint32_t>(kRound));
  const float r = (xc - n * kLn2Hi) - n * kLn2Lo;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e_r = p * (r * r) + r + 1.0f;
  // 2^n = 2^n_lo · 2^n_hi with both exponents within [−75, 64]: each factor is a normal float.
  const int32_t n_lo = n_int >> 1, n_hi = n_int - n_lo;
  const float scale_lo = std::bit_cast<float>(static_cast<uint32_t>(n_lo + 127) << 23);
  const float scale_hi = std::bit_cast<float>(static_cast<uint32_t>(n_hi + 127) << 23);
  const uint32_t y = std::bit_cast<uint32_t>(e_r * scale_lo * scale_hi);

  // NaN in → NaN out; x above kMaxArg → +inf (below −104 the clamped value already gives 0).
  // Masks come from arithmetic shifts (all ones when the difference is negative), not comparisons:
  // GCC would move the float work under a branch and not vectorise without AVX-512 masking.
  const auto all_ones_if_negative = [](uint32_t v) { return static_cast<uint32_t>(static_cast<int32_t>(v) >> 31); };
  const uint32_t nan_mask = all_ones_if_negative(kInfBits - magnitude);
  const uint32_t too_big_mask = all_ones_if_negative(kMaxArgBits - magnitude) & ~all_ones_if_negative(bits);
  const uint32_t inf_mask = too_big_mask & ~nan_mask;
  return std::bit_cast<float>((y & ~(nan_mask | inf_mask)) | (bits & nan_mask) | (kInfBits & inf_mask));
}

}  // namespace ll
