// Moving rows of one head between the strided operands (HeadsView, f32, bf16 or f16) and the f32 tile
// buffers of the attention passes, and carving those buffers out of per-thread scratch.
#pragma once
#include <cstdint>

#include "kernels/attention/attention.h"

namespace ll::attn {

// dst[r·ld + d] = x(b, t0 + r, h, d) for r < n, d < D; the padding columns [D, ld) are zeroed.
void load_rows(float* dst, int64_t ld, const HeadsView& x, int64_t b, int64_t t0, int64_t n, int64_t h, int64_t D);

// dst[d·ld + r] = x(b, t0 + r, h, d) for d < D, r < n (the transposed tile [D × ld]); the padding
// columns [n, ld) are zeroed.
void load_rows_transposed(float* dst, int64_t ld, const HeadsView& x, int64_t b, int64_t t0, int64_t n, int64_t h,
                          int64_t D);

// x(b, t0 + r, h, d) = src[r·ld + d] · row_scale[r] (row_scale nullptr: 1); x is f32.
void store_rows(const HeadsView& x, int64_t b, int64_t t0, int64_t n, int64_t h, int64_t D, const float* src,
                int64_t ld, const float* row_scale = nullptr);

// x(b, t, h, :) = 0 for t in [t0, t1) and every head h < heads; x is f32.
void zero_rows(const HeadsView& x, int64_t b, int64_t t0, int64_t t1, int64_t heads, int64_t D);

// delta[r] = Σ_d dout_rows[r·ld + d] · o(b, t0 + r, h, d) for r < n: the backward's rowsum(dO ∘ O) from
// dO rows already loaded (load_rows) and the forward's f32 output.
void rows_dot(float* delta, const float* dout_rows, int64_t ld, const HeadsView& o, int64_t b, int64_t t0, int64_t n,
              int64_t h, int64_t D);

// Asks the CPU to start fetching rows [t0, t0 + n) of head h into cache (the next tile, while the
// current one is being computed: rows of one head are strided, which hardware prefetchers follow late).
void prefetch_rows(const HeadsView& x, int64_t b, int64_t t0, int64_t n, int64_t h, int64_t D);

// Hands out 64-byte-aligned float buffers from one per-thread block. Constructed over nullptr it only
// counts, which is how a pass sizes its block from the same code that carves it.
class ScratchCarver {
 public:
  explicit ScratchCarver(float* base) : base_(base) {}
  float* take(int64_t floats) {
    float* p = base_ ? base_ + used_ : nullptr;
    used_ += (floats + 15) / 16 * 16;
    return p;
  }
  int64_t used() const { return used_; }

 private:
  float* base_;
  int64_t used_ = 0;
};

}  // namespace ll::attn
