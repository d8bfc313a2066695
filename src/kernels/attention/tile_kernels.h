// The arithmetic on tiles that every attention pass is made of, one table per instruction set.
//
// Score tiles hold raw dot products q·k; the softmax functions turn them into log2 units with
// scale_log2 = log2(e)/√D so that every exponential is a 2^x (one polynomial, no log/exp pair).
// Masked scores are −inf on entry and become exactly 0 probability. All column counts of the
// elementwise functions and every N of gemm are multiples of kTilePad (the buffers are padded).
#pragma once
#include <cstdint>

#include "kernels/attention/attention.h"

namespace ll::attn {

inline constexpr int kTilePad = 8;  // floats: one AVX2 vector
inline int64_t pad_to_tile(int64_t n) { return (n + kTilePad - 1) / kTilePad * kTilePad; }

// The running max of a column before its first visible key: finite, so that no "−inf − (−inf)"
// ever appears, and so small that 2^(it − anything real) is exactly 0.
inline constexpr float kNoScoreYet = -1e30f;

struct TileKernels {
  // C[M×N] = (accumulate ? C : 0) + A·B, where A(m, k) = A[m·a_rs + k·a_cs] (so either A or Aᵀ can be
  // read in place), B is row-major [K × ldb] and C row-major [M × ldc]. N % kTilePad == 0.
  void (*gemm)(int M, int N, int K, const float* A, int64_t a_rs, int64_t a_cs, const float* B, int64_t ldb,
               float* C, int64_t ldc, bool accumulate);

  // One online-softmax step over a transposed score tile s [rows = keys × cols = queries] (ld floats
  // per row): per query column j with running max m[j] (log2 units) and running sum l[j],
  //   m'[j] = max(m[j], max_r s[r][j]·scale_log2),  alpha[j] = 2^(m[j] − m'[j]),
  //   s[r][j] ← 2^(s[r][j]·scale_log2 − m'[j]),    l[j] ← l[j]·alpha[j] + Σ_r s[r][j],  m[j] ← m'[j].
  // The caller rescales its output accumulator rows by alpha before adding Pᵀ·V.
  void (*softmax_step)(float* s, int64_t ld, int rows, int cols, float scale_log2, float* m, float* l,
                       float* alpha);

  // o[r][0..cols) *= alpha[r] for r < rows.
  void (*scale_rows)(float* o, int64_t ld, int rows, int cols, const float* alpha);

  // Backward probabilities and score gradients, from raw scores s and dp = dO·Vᵀ (same layout):
  //   p = 2^(s·scale_log2 − lse2),  ds = p · (dp − delta) · scale
  // with lse2 = lse·log2(e) and delta = rowsum(dO ∘ O) per query. dp is overwritten with ds.
  // grad_cols: tiles [rows = keys × cols = queries], lse2/delta indexed by column; s is left as is.
  void (*grad_cols)(const float* s, float* dp, int64_t ld, int rows, int cols, float scale_log2, const float* lse2,
                    const float* delta, float scale);
  // grad_rows: tiles [rows = queries × cols = keys], lse2/delta indexed by row; s is overwritten with p.
  void (*grad_rows)(float* s, float* dp, int64_t ld, int rows, int cols, float scale_log2, const float* lse2,
                    const float* delta, float scale);
};

// The table of one CPU path, which must be available (cpu_isa_available).
const TileKernels& tile_kernels(CpuIsa isa);

// The tables of each file (tile_kernels_generic.cpp, tile_kernels_avx2.cpp).
extern const TileKernels kPortableKernels;
extern const TileKernels kAvx512Kernels;
extern const TileKernels kAvx2Kernels;

}  // namespace ll::attn
