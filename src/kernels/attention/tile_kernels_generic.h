// Plain-C++ tile kernels (see tile_kernels.h for what each computes). Written so compilers vectorise
// them (fixed-size register blocks, per-column state, no reductions across a vector), they are
// compiled twice by tile_kernels_generic.cpp: for the baseline CPU (the Portable path) and for
// AVX-512 (the Avx512 path). Everything here is force-inlined into those two callers so each copy is
// compiled for its own instruction set; include this header from that file only.
#pragma once
#include <bit>
#include <cstdint>

#include "kernels/attention/tile_kernels.h"

#define LL_ATTN_INLINE inline __attribute__((always_inline))

namespace ll::attn::generic {

// 2^x for x ≤ 128, relative error < 2e-7; x ≤ −127 (−inf included) gives exactly 0.
// x = n + f with n = round(x), |f| ≤ 1/2; 2^f by its degree-7 Taylor polynomial in f·ln2, 2^n by
// writing n + 127 into the exponent bits (n = −127 writes 0: the result is +0).
LL_ATTN_INLINE float exp2_poly(float x) {
  x = x < -127.0f ? -127.0f : x;
  x = x > 127.0f ? 127.0f : x;
  const float round_magic = 12582912.0f;  // 1.5·2^23: adding and subtracting it rounds to an integer
  const float n = (x + round_magic) - round_magic;
  const float f = x - n;
  float p = 1.5252734e-5f;
  p = p * f + 1.5403530e-4f;
  p = p * f + 1.3333558e-3f;
  p = p * f + 9.6181291e-3f;
  p = p * f + 5.5504109e-2f;
  p = p * f + 2.4022651e-1f;
  p = p * f + 6.9314718e-1f;
  p = p * f + 1.0f;
  const int32_t biased = static_cast<int32_t>(n) + 127;
  return p * std::bit_cast<float>(biased << 23);
}

// C[MR×NR] (+)= A[MR×K]·B[K×NR] held in a register block (rows unrolled, columns vectorised).
template <int MR, int NR>
LL_ATTN_INLINE void gemm_block(int K, const float* A, int64_t a_rs, int64_t a_cs, const float* B, int64_t ldb,
                               float* C, int64_t ldc, bool accumulate) {
  float c[MR][NR];
#pragma GCC unroll 4
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) c[i][j] = accumulate ? C[i * ldc + j] : 0.0f;
  for (int k = 0; k < K; ++k) {
    const float* b = B + k * ldb;
    const float* a = A + k * a_cs;
#pragma GCC unroll 4
    for (int i = 0; i < MR; ++i) {
      const float ai = a[i * a_rs];
      for (int j = 0; j < NR; ++j) c[i][j] += ai * b[j];
    }
  }
#pragma GCC unroll 4
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) C[i * ldc + j] = c[i][j];
}

// All rows of one column panel [n0, n0 + NR).
template <int NR>
LL_ATTN_INLINE void gemm_panel(int M, int K, const float* A, int64_t a_rs, int64_t a_cs, const float* B,
                               int64_t ldb, float* C, int64_t ldc, bool accumulate) {
  constexpr int MR = 4;
  int m = 0;
  for (; m + MR <= M; m += MR)
    gemm_block<MR, NR>(K, A + m * a_rs, a_rs, a_cs, B, ldb, C + m * ldc, ldc, accumulate);
  const float* a = A + m * a_rs;
  float* c = C + m * ldc;
  switch (M - m) {
    case 3: gemm_block<3, NR>(K, a, a_rs, a_cs, B, ldb, c, ldc, accumulate); break;
    case 2: gemm_block<2, NR>(K, a, a_rs, a_cs, B, ldb, c, ldc, accumulate); break;
    case 1: gemm_block<1, NR>(K, a, a_rs, a_cs, B, ldb, c, ldc, accumulate); break;
    default: break;
  }
}

LL_ATTN_INLINE void gemm(int M, int N, int K, const float* A, int64_t a_rs, int64_t a_cs, const float* B,
                         int64_t ldb, float* C, int64_t ldc, bool accumulate) {
  int n = 0;
  for (; n + 32 <= N; n += 32) gemm_panel<32>(M, K, A, a_rs, a_cs, B + n, ldb, C + n, ldc, accumulate);
  for (; n + kTilePad <= N; n += kTilePad)
    gemm_panel<kTilePad>(M, K, A, a_rs, a_cs, B + n, ldb, C + n, ldc, accumulate);
}

LL_ATTN_INLINE void softmax_step(float* s, int64_t ld, int rows, int cols, float scale_log2, float* m, float* l,
                                 float* alpha) {
  // alpha first holds the new running max m'.
  for (int j = 0; j < cols; ++j) alpha[j] = m[j];
  for (int r = 0; r < rows; ++r) {
    float* sr = s + r * ld;
    for (int j = 0; j < cols; ++j) {
      const float x = sr[j] * scale_log2;
      sr[j] = x;
      alpha[j] = x > alpha[j] ? x : alpha[j];
    }
  }
  for (int j = 0; j < cols; ++j) {
    const float m_new = alpha[j];
    alpha[j] = exp2_poly(m[j] - m_new);
    m[j] = m_new;
    l[j] *= alpha[j];
  }
  for (int r = 0; r < rows; ++r) {
    float* sr = s + r * ld;
    for (int j = 0; j < cols; ++j) {
      const float p = exp2_poly(sr[j] - m[j]);
      sr[j] = p;
      l[j] += p;
    }
  }
}

LL_ATTN_INLINE void scale_rows(float* o, int64_t ld, int rows, int cols, const float* alpha) {
  for (int r = 0; r < rows; ++r) {
    float* orow = o + r * ld;
    const float a = alpha[r];
    for (int j = 0; j < cols; ++j) orow[j] *= a;
  }
}

LL_ATTN_INLINE void grad_cols(const float* s, float* dp, int64_t ld, int rows, int cols, float scale_log2,
                              const float* lse2, const float* delta, float scale) {
  for (int r = 0; r < rows; ++r) {
    const float* sr = s + r * ld;
    float* dr = dp + r * ld;
    for (int j = 0; j < cols; ++j) {
      const float p = exp2_poly(sr[j] * scale_log2 - lse2[j]);
      dr[j] = p * (dr[j] - delta[j]) * scale;
    }
  }
}

LL_ATTN_INLINE void grad_rows(float* s, float* dp, int64_t ld, int rows, int cols, float scale_log2,
                              const float* lse2, const float* delta, float scale) {
  for (int r = 0; r < rows; ++r) {
    float* sr = s + r * ld;
    float* dr = dp + r * ld;
    const float row_lse2 = lse2[r], row_delta = delta[r];
    for (int j = 0; j < cols; ++j) {
      const float p = exp2_poly(sr[j] * scale_log2 - row_lse2);
      sr[j] = p;
      dr[j] = p * (dr[j] - row_delta) * scale;
    }
  }
}

}  // namespace ll::attn::generic
