// The Portable and Avx512 tile-kernel tables: the plain-C++ kernels of tile_kernels_generic.h compiled
// once for the baseline CPU and once for x86-64-v4 (AVX-512F/BW/DQ/VL). The AVX-512 copy is what the
// compiler makes of the same source the Portable path runs, so the tests of the Portable path test its
// logic on any machine.
#include "kernels/attention/tile_kernels_generic.h"

namespace ll::attn {

// Defines the five entry points of one table, each force-inlining the generic kernel under `target`.
#define LL_ATTN_GENERIC_TABLE(table, target)                                                                  \
  namespace table##_impl {                                                                                    \
  target void gemm(int M, int N, int K, const float* A, int64_t a_rs, int64_t a_cs, const float* B,          \
                   int64_t ldb, float* C, int64_t ldc, bool accumulate) {                                     \
    generic::gemm(M, N, K, A, a_rs, a_cs, B, ldb, C, ldc, accumulate);                                        \
  }                                                                                                           \
  target void softmax_step(float* s, int64_t ld, int rows, int cols, float scale_log2, float* m, float* l,   \
                           float* alpha) {                                                                    \
    generic::softmax_step(s, ld, rows, cols, scale_log2, m, l, alpha);                                        \
  }                                                                                                           \
  target void scale_rows(float* o, int64_t ld, int rows, int cols, const float* alpha) {                      \
    generic::scale_rows(o, ld, rows, cols, alpha);                                                            \
  }                                                                                                           \
  target void grad_cols(const float* s, float* dp, int64_t ld, int rows, int cols, float scale_log2,         \
                        const float* lse2, const float* delta, float scale) {                                 \
    generic::grad_cols(s, dp, ld, rows, cols, scale_log2, lse2, delta, scale);                                \
  }                                                                                                           \
  target void grad_rows(float* s, float* dp, int64_t ld, int rows, int cols, float scale_log2,               \
                        const float* lse2, const float* delta, float scale) {                                 \
    generic::grad_rows(s, dp, ld, rows, cols, scale_log2, lse2, delta, scale);                                \
  }                                                                                                           \
  }                                                                                                           \
  const TileKernels table{table##_impl::gemm, table##_impl::softmax_step, table##_impl::scale_rows,         \
                          table##_impl::grad_cols, table##_impl::grad_rows};

LL_ATTN_GENERIC_TABLE(kPortableKernels, )

#if defined(__x86_64__) && defined(__GNUC__)
LL_ATTN_GENERIC_TABLE(kAvx512Kernels, __attribute__((target("arch=x86-64-v4"))))
#else
LL_ATTN_GENERIC_TABLE(kAvx512Kernels, )  // never selected: cpu_isa_available(Avx512) is false
#endif

#undef LL_ATTN_GENERIC_TABLE

}  // namespace ll::attn
