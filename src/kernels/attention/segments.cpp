#include "kernels/attention/segments.h"

#include <algorithm>
#include <cmath>

namespace ll {

int64_t max_attention_span(const AttentionMask& mask, int64_t len) {
  if (mask.mode == AttentionMode::Causal) return len;
  return std::min(len, attn::s2_group_size(mask, len));
}

}  // namespace ll

namespace ll::attn {

int64_t s2_group_size(const AttentionMask& mask, int64_t len) {
  if (mask.s2_group > 0) return mask.s2_group;
  const auto g = static_cast<int64_t>(std::floor(mask.s2_ratio * static_cast<double>(len)));
  return std::max<int64_t>(1, g);
}

namespace {

// S²-Attn's groups for one head class, before documents: ranges of queries, each attending causally
// inside itself (plus its prefix for the wrapped part of a rolled group).
std::vector<Segment> s2_segments(AttentionMode mode, int64_t len, int64_t group, int head_class) {
  std::vector<Segment> segs;
  const int64_t half = group / 2;
  if (head_class == 0) {  // [0,G), [G,2G), …, last one partial
    for (int64_t b = 0; b < len; b += group) segs.push_back({b, std::min(b + group, len)});
  } else if (mode == AttentionMode::S2Shift) {  // [0,G/2), [G/2,3G/2), …, clipped at N
    if (half > 0) segs.push_back({0, std::min(half, len)});
    for (int64_t b = half; b < len; b += group) segs.push_back({b, std::min(b + group, len)});
  } else {  // S2Roll: rolled position r holds token (r + G/2) mod N; groups of G over r
    for (int64_t r = 0; r < len; r += group) {
      const int64_t n = std::min(group, len - r);
      const int64_t first = (r + half) % len;
      if (first + n <= len) {
        segs.push_back({first, first + n});
      } else {  // wraps: tokens [first, N) come first, then [0, first + n − N) which also see them
        segs.push_back({first, len});
        segs.push_back({0, first + n - len, first, len});
      }
    }
    std::sort(segs.begin(), segs.end(), [](const Segment& a, const Segment& b) { return a.begin < b.begin; });
  }
  return segs;
}

// Splits segments at document starts: a query keeps only the keys of its own document, so each piece
// keeps the part of the prefix inside its document.
std::vector<Segment> split_at_documents(const std::vector<Segment>& segs, int64_t len,
                                        std::span<const int64_t> doc_starts) {
  std::vector<Segment> out;
  for (const Segment& s : segs) {
    int64_t from = s.begin;
    while (from < s.end) {
      // The document holding token `from`: [doc_begin, doc_end).
      const auto next = std::upper_bound(doc_starts.begin(), doc_starts.end(), from);
      const int64_t doc_begin = next == doc_starts.begin() ? 0 : *(next - 1);
      const int64_t doc_end = next == doc_starts.end() ? len : *next;
      Segment piece{from, std::min(s.end, doc_end)};
      const int64_t pb = std::max(s.prefix_begin, doc_begin), pe = std::min(s.prefix_end, doc_end);
      if (s.has_prefix() && pb < pe) {
        piece.prefix_begin = pb;
        piece.prefix_end = pe;
      }
      out.push_back(piece);
      from = piece.end;
    }
  }
  return out;
}

}  // namespace

std::vector<Segment> row_segments(const AttentionMask& mask, int64_t len, int head_class,
                                  std::span<const int64_t> doc_starts) {
  if (len <= 0) return {};
  std::vector<Segment> segs;
  const int64_t group = mask.mode == AttentionMode::Causal ? len : s2_group_size(mask, len);
  if (len <= group) {
    segs.push_back({0, len});
  } else {
    segs = s2_segments(mask.mode, len, group, head_class);
  }
  return doc_starts.empty() ? segs : split_at_documents(segs, len, doc_starts);
}

}  // namespace ll::attn
