// Which keys each query sees, as causal segments: the mask of attention.h turned into a few ranges
// per (row, head class), so the tiles never test a mask element by element except on a diagonal.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "kernels/attention/attention.h"

namespace ll::attn {

// Queries [begin, end) see the keys [begin, t] (causal) and every key of [prefix_begin, prefix_end),
// a range that precedes the segment in causal order (the tokens before a wrap-around in S2Roll;
// the KV cache before the new queries at inference). Empty prefix: prefix_begin == prefix_end.
struct Segment {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t prefix_begin = 0;
  int64_t prefix_end = 0;

  bool has_prefix() const { return prefix_end > prefix_begin; }
  bool operator==(const Segment&) const = default;
};

// Head class for S²: 0 for query heads [0, Hq/2), 1 for [Hq/2, Hq).
inline int head_class(int64_t h, int64_t q_heads) { return h >= q_heads / 2 ? 1 : 0; }

// G for a row of `len` tokens: mask.s2_group, or max(1, floor(s2_ratio · len)).
int64_t s2_group_size(const AttentionMask& mask, int64_t len);

// The segments of one row of `len` tokens for the query heads of one class, ordered by begin; every
// query of [0, len) is in exactly one. doc_starts: that row's document starts (empty = one document).
std::vector<Segment> row_segments(const AttentionMask& mask, int64_t len, int head_class,
                                  std::span<const int64_t> doc_starts);

}  // namespace ll::attn
