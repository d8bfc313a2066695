// Test helpers for the attention kernel: the mask written straight from DESIGN.md §2 (independent of
// segments.cpp), a naive double-precision attention that materialises every score, random problems,
// and running the kernel on them.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "kernels/attention/attention.h"

namespace ll::attn_test {

// Does query t see key s, in a row of `len` tokens, for a query head of class head_class (0: heads
// [0, Hq/2), 1: the rest)? docs: that row's document starts (empty: one document).
bool visible(const AttentionMask& mask, int64_t len, int head_class, std::span<const int64_t> docs, int64_t t,
             int64_t s);

// An attention problem with contiguous [B, T, H, D] operands held in double.
struct Problem {
  AttentionShape shape;
  AttentionMask mask;
  std::vector<double> q, k, v, dout;

  int64_t len(int64_t b) const { return shape.lengths.empty() ? shape.max_len : shape.lengths[b]; }
};

// Rows of the given lengths, padded to the longest.
AttentionShape padded_shape(const std::vector<int64_t>& lengths, int64_t q_heads, int64_t kv_heads, int64_t head_dim);

// Random values in [-1, 1) (times `spread` for q and k, which sets how peaked the softmax is).
Problem random_problem(const AttentionShape& shape, const AttentionMask& mask, uint64_t seed, double spread = 1.5);

// Rounds q, k, v, dout to bf16 values, so a bf16 kernel run and the double reference see equal inputs.
void round_inputs_to_bf16(Problem& p);
// The same for f16 (a 16-bit KV cache's other format).
void round_inputs_to_f16(Problem& p);

struct Outputs {
  std::vector<double> o, lse;     // [B, T, Hq, D], [B, Hq, T]
  std::vector<double> dq, dk, dv; // [B, T, H, D]
};

// Naive attention in double: scores for every visible pair, softmax, o; backward by the chain rule
// (dv = Pᵀ·dout, dS = P ∘ (dP − rowsum(P ∘ dP)), dq = dS·k/√D, dk = dSᵀ·q/√D). Padding rows are zero.
Outputs reference_attention(const Problem& p, bool with_backward = true);

// Σ dout ∘ o in double: the scalar whose gradient the backward computes.
double reference_loss(const Problem& p);

// The kernel on the problem (inputs converted to `dtype`, contiguous layouts), outputs widened to double.
Outputs run_kernel(const Problem& p, DType dtype, const AttentionTuning& tuning = {}, bool with_backward = true);

// max |a − b| / max |b| (0 when b is all zero).
double relative_error(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace ll::attn_test
