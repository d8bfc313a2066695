#include "kernels/attention/plan.h"

#include <algorithm>

#include "core/error.h"

namespace ll::attn {

namespace {

void index_prefixed_segments(RowSegments& row) {
  for (int c = 0; c < 2; ++c) {
    row.with_prefix[c].clear();
    for (size_t i = 0; i < row.by_class[c].size(); ++i)
      if (row.by_class[c][i].has_prefix()) row.with_prefix[c].push_back(static_cast<int64_t>(i));
  }
}

void sort_largest_first(auto& tasks) {
  std::stable_sort(tasks.begin(), tasks.end(), [](const auto& a, const auto& b) { return a.cost > b.cost; });
}

// Every query tile of every (row, head): segments cut into pieces of at most query_tile queries.
void add_query_tasks(AttentionPlan& plan) {
  for (int64_t b = 0; b < plan.batch; ++b) {
    for (int64_t h = 0; h < plan.q_heads; ++h) {
      for (const Segment& seg : plan.rows[b].by_class[head_class(h, plan.q_heads)]) {
        for (int64_t i0 = seg.begin; i0 < seg.end; i0 += plan.query_tile) {
          const int64_t i1 = std::min(seg.end, i0 + plan.query_tile);
          const int64_t keys = (seg.prefix_end - seg.prefix_begin) + (i1 - seg.begin);
          plan.query_tasks.push_back({b, h, i0, i1, seg, keys * (i1 - i0)});
        }
      }
    }
  }
  sort_largest_first(plan.query_tasks);
}

void resize_rows(AttentionPlan& plan) {
  plan.queries.resize(plan.batch);
  plan.keys.resize(plan.batch);
  plan.q_offset.resize(plan.batch);
  plan.rows.resize(plan.batch);
}

}  // namespace

AttentionPlan plan_attention(const AttentionShape& shape, const AttentionMask& mask, int query_tile, int key_tile) {
  AttentionPlan plan;
  plan.batch = shape.batch;
  plan.q_heads = shape.q_heads;
  plan.kv_heads = shape.kv_heads;
  plan.head_dim = shape.head_dim;
  plan.query_tile = query_tile;
  plan.key_tile = key_tile;
  plan.query_rows = shape.max_len;
  resize_rows(plan);
  for (int64_t b = 0; b < shape.batch; ++b) {
    const int64_t len = shape.lengths.empty() ? shape.max_len : shape.lengths[b];
    plan.queries[b] = plan.keys[b] = len;
    plan.q_offset[b] = 0;
    std::span<const int64_t> docs;
    if (!mask.doc_starts.empty()) docs = mask.doc_starts[b];
    RowSegments& row = plan.rows[b];
    row.by_class[0] = row_segments(mask, len, 0, docs);
    row.by_class[1] = mask.mode == AttentionMode::Causal ? row.by_class[0] : row_segments(mask, len, 1, docs);
    index_prefixed_segments(row);
  }
  add_query_tasks(plan);
  return plan;
}

AttentionPlan plan_cached_attention(const CachedAttentionShape& shape, int query_tile, int key_tile) {
  AttentionPlan plan;
  plan.batch = shape.batch;
  plan.q_heads = shape.q_heads;
  plan.kv_heads = shape.kv_heads;
  plan.head_dim = shape.head_dim;
  plan.query_tile = query_tile;
  plan.key_tile = key_tile;
  plan.query_rows = shape.max_queries;
  resize_rows(plan);
  for (int64_t b = 0; b < shape.batch; ++b) {
    const int64_t start = shape.q_start[b], n = shape.q_len[b];
    plan.queries[b] = n;
    plan.keys[b] = start + n;
    plan.q_offset[b] = start;
    RowSegments& row = plan.rows[b];
    if (n > 0) row.by_class[0] = row.by_class[1] = {Segment{start, start + n, 0, start}};
    index_prefixed_segments(row);
  }
  add_query_tasks(plan);
  return plan;
}

void plan_key_tasks(AttentionPlan& plan) {
  std::vector<int64_t> cuts;
  std::vector<TokenRange> ranges;
  for (int64_t b = 0; b < plan.batch; ++b) {
    const RowSegments& row = plan.rows[b];
    for (int64_t g = 0; g < plan.kv_heads; ++g) {
      const int64_t h0 = g * plan.group(), h1 = h0 + plan.group();
      // Cut the keys at every boundary of the segments and prefixes of the classes g serves.
      bool serves[2] = {false, false};
      for (int64_t h = h0; h < h1; ++h) serves[head_class(h, plan.q_heads)] = true;
      cuts.assign({0, plan.keys[b]});
      for (int c = 0; c < 2; ++c) {
        if (!serves[c]) continue;
        for (const Segment& s : row.by_class[c]) {
          cuts.insert(cuts.end(), {s.begin, s.end});
          if (s.has_prefix()) cuts.insert(cuts.end(), {s.prefix_begin, s.prefix_end});
        }
      }
      std::sort(cuts.begin(), cuts.end());
      cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
      for (size_t i = 0; i + 1 < cuts.size(); ++i) {
        for (int64_t j0 = cuts[i]; j0 < cuts[i + 1]; j0 += plan.key_tile) {
          const int64_t j1 = std::min(cuts[i + 1], j0 + plan.key_tile);
          int64_t queries = 0;
          for (int64_t h = h0; h < h1; ++h) {
            queries_of(row, head_class(h, plan.q_heads), j0, j1, ranges);
            for (const TokenRange& r : ranges) queries += r.end - r.begin;
          }
          plan.key_tasks.push_back({b, g, j0, j1, queries * (j1 - j0)});
        }
      }
    }
  }
  sort_largest_first(plan.key_tasks);
}

int keys_of(const QueryTask& task, TokenRange out[3]) {
  int n = 0;
  const Segment& seg = task.segment;
  if (seg.has_prefix()) out[n++] = {seg.prefix_begin, seg.prefix_end, false};
  if (task.begin > seg.begin) out[n++] = {seg.begin, task.begin, false};
  out[n++] = {task.begin, task.end, true};
  return n;
}

void key_tiles_of(const QueryTask& task, int key_tile, std::vector<TokenRange>& out) {
  out.clear();
  TokenRange ranges[3];
  const int n = keys_of(task, ranges);
  for (int i = 0; i < n; ++i)
    for (int64_t j0 = ranges[i].begin; j0 < ranges[i].end; j0 += key_tile)
      out.push_back({j0, std::min(ranges[i].end, j0 + key_tile), ranges[i].diagonal});
}

void queries_of(const RowSegments& row, int head_class, int64_t begin, int64_t end, std::vector<TokenRange>& out) {
  out.clear();
  const std::vector<Segment>& segs = row.by_class[head_class];
  auto own = std::upper_bound(segs.begin(), segs.end(), begin,
                              [](int64_t t, const Segment& s) { return t < s.begin; });
  LL_CHECK(own != segs.begin());
  --own;
  LL_CHECK(own->begin <= begin && end <= own->end);
  out.push_back({begin, own->end, true});
  for (int64_t i : row.with_prefix[head_class]) {
    const Segment& s = segs[i];
    const bool overlaps = s.prefix_begin < end && begin < s.prefix_end;
    if (!overlaps) continue;
    LL_CHECK(s.prefix_begin <= begin && end <= s.prefix_end);
    out.push_back({s.begin, s.end, false});
  }
}

}  // namespace ll::attn
