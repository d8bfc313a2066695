// The Avx2 tile-kernel table: hand-written AVX2+FMA (see tile_kernels.h for what each computes).
// Compiled with a target attribute, called only where cpu_isa_available(CpuIsa::Avx2).
#include "kernels/attention/tile_kernels.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define LL_AVX2 __attribute__((target("avx2,fma")))

namespace ll::attn {
namespace {

// 2^x, the same algorithm as generic::exp2_poly (round, degree-7 polynomial, exponent bits).
LL_AVX2 inline __m256 exp2_avx2(__m256 x) {
  x = _mm256_max_ps(x, _mm256_set1_ps(-127.0f));
  x = _mm256_min_ps(x, _mm256_set1_ps(127.0f));
  const __m256 round_magic = _mm256_set1_ps(12582912.0f);
  const __m256 n = _mm256_sub_ps(_mm256_add_ps(x, round_magic), round_magic);
  const __m256 f = _mm256_sub_ps(x, n);
  __m256 p = _mm256_set1_ps(1.5252734e-5f);
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.5403530e-4f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.3333558e-3f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(9.6181291e-3f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(5.5504109e-2f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(2.4022651e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(6.9314718e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0f));
  const __m256i biased = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
  return _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(biased, 23)));
}

// C[MR × 8·NV] (+)= A·B with the accumulators in registers: per k, NV loads of B, MR broadcasts of A,
// MR·NV FMAs (6×16 uses 12 of the 16 ymm registers for C).
// (The unroll pragmas make GCC expand the loops before it decides where C lives, which keeps the
// accumulators in registers instead of storing them to the stack on every k.)
template <int MR, int NV>
LL_AVX2 inline void gemm_block(int K, const float* A, int64_t a_rs, int64_t a_cs, const float* B, int64_t ldb,
                               float* C, int64_t ldc, bool accumulate) {
  __m256 c[MR][NV];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) c[i][v] = accumulate ? _mm256_loadu_ps(C + i * ldc + 8 * v) : _mm256_setzero_ps();
  for (int k = 0; k < K; ++k) {
    __m256 b[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) b[v] = _mm256_loadu_ps(B + k * ldb + 8 * v);
    const float* a = A + k * a_cs;
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const __m256 ai = _mm256_broadcast_ss(a + i * a_rs);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) c[i][v] = _mm256_fmadd_ps(ai, b[v], c[i][v]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) _mm256_storeu_ps(C + i * ldc + 8 * v, c[i][v]);
}

template <int NV>
LL_AVX2 inline void gemm_panel(int M, int K, const float* A, int64_t a_rs, int64_t a_cs, const float* B,
                               int64_t ldb, float* C, int64_t ldc, bool accumulate) {
  constexpr int MR = 6;
  int m = 0;
  for (; m + MR <= M; m += MR)
    gemm_block<MR, NV>(K, A + m * a_rs, a_rs, a_cs, B, ldb, C + m * ldc, ldc, accumulate);
  const float* a = A + m * a_rs;
  float* c = C + m * ldc;
  switch (M - m) {
    case 5: gemm_block<5, NV>(K, a, a_rs, a_cs, B, ldb, c, ldc, accumulate); break;
    case 4: gemm_block<4, NV>(K, a, a_rs, a_cs, B, ldb, c, ldc, accumulate); break;
    case 3: gemm_block<3, NV>(K, a, a_rs, a_cs, B, ldb, c, ldc, accumulate); break;
    case 2: gemm_block<2, NV>(K, a, a_rs, a_cs, B, ldb, c, ldc, accumulate); break;
    case 1: gemm_block<1, NV>(K, a, a_rs, a_cs, B, ldb, c, ldc, accumulate); break;
    default: break;
  }
}

LL_AVX2 void gemm(int M, int N, int K, const float* A, int64_t a_rs, int64_t a_cs, const float* B, int64_t ldb,
                  float* C, int64_t ldc, bool accumulate) {
  int n = 0;
  for (; n + 16 <= N; n += 16) gemm_panel<2>(M, K, A, a_rs, a_cs, B + n, ldb, C + n, ldc, accumulate);
  if (n < N) gemm_panel<1>(M, K, A, a_rs, a_cs, B + n, ldb, C + n, ldc, accumulate);
}

// One block of 8 query columns at a time, all key rows, running max and sum kept in registers.
LL_AVX2 void softmax_step(float* s, int64_t ld, int rows, int cols, float scale_log2, float* m, float* l,
                          float* alpha) {
  const __m256 scale = _mm256_set1_ps(scale_log2);
  for (int j = 0; j < cols; j += 8) {
    const __m256 m_old = _mm256_loadu_ps(m + j);
    __m256 m_new = m_old;
    for (int r = 0; r < rows; ++r) {
      const __m256 x = _mm256_mul_ps(_mm256_loadu_ps(s + r * ld + j), scale);
      _mm256_storeu_ps(s + r * ld + j, x);
      m_new = _mm256_max_ps(x, m_new);
    }
    const __m256 a = exp2_avx2(_mm256_sub_ps(m_old, m_new));
    _mm256_storeu_ps(alpha + j, a);
    _mm256_storeu_ps(m + j, m_new);
    __m256 sum = _mm256_mul_ps(_mm256_loadu_ps(l + j), a);
    for (int r = 0; r < rows; ++r) {
      const __m256 p = exp2_avx2(_mm256_sub_ps(_mm256_loadu_ps(s + r * ld + j), m_new));
      _mm256_storeu_ps(s + r * ld + j, p);
      sum = _mm256_add_ps(sum, p);
    }
    _mm256_storeu_ps(l + j, sum);
  }
}

LL_AVX2 void scale_rows(float* o, int64_t ld, int rows, int cols, const float* alpha) {
  for (int r = 0; r < rows; ++r) {
    const __m256 a = _mm256_set1_ps(alpha[r]);
    float* orow = o + r * ld;
    for (int j = 0; j < cols; j += 8) _mm256_storeu_ps(orow + j, _mm256_mul_ps(_mm256_loadu_ps(orow + j), a));
  }
}

LL_AVX2 void grad_cols(const float* s, float* dp, int64_t ld, int rows, int cols, float scale_log2,
                       const float* lse2, const float* delta, float scale) {
  const __m256 sl = _mm256_set1_ps(scale_log2), sc = _mm256_set1_ps(scale);
  for (int r = 0; r < rows; ++r) {
    const float* sr = s + r * ld;
    float* dr = dp + r * ld;
    for (int j = 0; j < cols; j += 8) {
      const __m256 p = exp2_avx2(_mm256_fmsub_ps(_mm256_loadu_ps(sr + j), sl, _mm256_loadu_ps(lse2 + j)));
      const __m256 g = _mm256_sub_ps(_mm256_loadu_ps(dr + j), _mm256_loadu_ps(delta + j));
      _mm256_storeu_ps(dr + j, _mm256_mul_ps(_mm256_mul_ps(p, g), sc));
    }
  }
}

LL_AVX2 void grad_rows(float* s, float* dp, int64_t ld, int rows, int cols, float scale_log2, const float* lse2,
                       const float* delta, float scale) {
  const __m256 sl = _mm256_set1_ps(scale_log2), sc = _mm256_set1_ps(scale);
  for (int r = 0; r < rows; ++r) {
    float* sr = s + r * ld;
    float* dr = dp + r * ld;
    const __m256 row_lse2 = _mm256_set1_ps(lse2[r]), row_delta = _mm256_set1_ps(delta[r]);
    for (int j = 0; j < cols; j += 8) {
      const __m256 p = exp2_avx2(_mm256_fmsub_ps(_mm256_loadu_ps(sr + j), sl, row_lse2));
      _mm256_storeu_ps(sr + j, p);
      const __m256 g = _mm256_sub_ps(_mm256_loadu_ps(dr + j), row_delta);
      _mm256_storeu_ps(dr + j, _mm256_mul_ps(_mm256_mul_ps(p, g), sc));
    }
  }
}

}  // namespace

const TileKernels kAvx2Kernels{gemm, softmax_step, scale_rows, grad_cols, grad_rows};

}  // namespace ll::attn

#else  // not x86-64: never selected (cpu_isa_available(Avx2) is false)

namespace ll::attn {
const TileKernels kAvx2Kernels = kPortableKernels;
}

#endif
