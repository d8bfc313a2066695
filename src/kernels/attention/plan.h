// The work of one attention call cut into independent tasks: query tiles (forward and the dq pass)
// and key blocks (the dk/dv pass). Each task owns the output rows it writes, so tasks run on any
// thread in any order with bit-identical results. The plan is small: O(B·Hq·N / tile + segments).
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/attention/attention.h"
#include "kernels/attention/segments.h"

namespace ll::attn {

struct RowSegments {
  std::vector<Segment> by_class[2];         // segments of head class 0 and 1, ordered by begin
  std::vector<int64_t> with_prefix[2];      // indices into by_class[c] of the segments with a prefix
};

// Queries [begin, end) of head h in row b, all inside `segment`.
struct QueryTask {
  int64_t b = 0, h = 0;
  int64_t begin = 0, end = 0;
  Segment segment;
  int64_t cost = 0;  // visible (query, key) pairs
};

// Keys [begin, end) of KV head g in row b; never straddles a segment or prefix boundary of the head
// classes g serves, so every query sees either all of them, none, or them through one causal diagonal.
struct KeyTask {
  int64_t b = 0, g = 0;
  int64_t begin = 0, end = 0;
  int64_t cost = 0;
};

// A range of keys seen by a query tile, or of queries seeing a key block. `diagonal`: the range
// overlaps the other side's positions, so key > query pairs inside must be masked.
struct TokenRange {
  int64_t begin = 0, end = 0;
  bool diagonal = false;
};

struct AttentionPlan {
  int64_t batch = 0, q_heads = 0, kv_heads = 0, head_dim = 0;
  int query_tile = 0, key_tile = 0;
  int64_t query_rows = 0;              // rows per batch row of q, o, dout, lse (T, or Tq when cached)
  std::vector<int64_t> queries;        // per row: how many query rows hold queries (the rest is padding)
  std::vector<int64_t> keys;           // per row: how many key rows hold keys
  std::vector<int64_t> q_offset;       // per row: query position t lives in query row t − q_offset
  std::vector<RowSegments> rows;       // per row
  std::vector<QueryTask> query_tasks;  // largest first
  std::vector<KeyTask> key_tasks;      // largest first; planned for the backward only

  int64_t group() const { return q_heads / kv_heads; }  // query heads per KV head
};

// Training / eval: queries and keys are the tokens [0, len[b]) of each row. The shape and mask are
// valid (checked by attention.cpp); tiles resolved.
AttentionPlan plan_attention(const AttentionShape& shape, const AttentionMask& mask, int query_tile, int key_tile);
// Inference against a KV cache: one segment per row, queries [q_start, q_start + q_len), prefix
// [0, q_start).
AttentionPlan plan_cached_attention(const CachedAttentionShape& shape, int query_tile, int key_tile);
// Adds the key blocks of the dk/dv pass.
void plan_key_tasks(AttentionPlan& plan);

// Keys seen by a query task: its prefix, the part of its segment before the tile, the tile's diagonal.
// Returns how many of out[0..3) are filled (empty ranges left out).
int keys_of(const QueryTask& task, TokenRange out[3]);

// The key tiles (at most key_tile keys each) of a query task in visiting order: keys_of cut into tiles.
void key_tiles_of(const QueryTask& task, int key_tile, std::vector<TokenRange>& out);

// Queries of head class `head_class` in `row` that see the key block [begin, end) (of one KV head):
// those of its own segment from `begin` on, and every segment holding the block in its prefix.
void queries_of(const RowSegments& row, int head_class, int64_t begin, int64_t end, std::vector<TokenRange>& out);

}  // namespace ll::attn
