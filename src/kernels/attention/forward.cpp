// Flash-attention forward: one task per query tile, the query tile stationary (transposed once), key
// and value tiles streaming through an online softmax.
//
// Per key tile (scores kept transposed, keys × queries, so that every softmax statistic is per column
// and vectorises without horizontal reductions):
//   Sᵀ = K·Qᵀ                         [kb × qb]   raw scores
//   mask keys after queries on the diagonal
//   m' = max(m, colmax Sᵀ·c), α = 2^(m − m'), Pᵀ = 2^(Sᵀ·c − m'), l = l·α + colsum Pᵀ  (c = log2 e/√D)
//   O = diag(α)·O + P·V               [qb × D]
// and at the end o = O / l, lse = ln 2 · (m + log2 l).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/threads.h"
#include "kernels/attention/passes.h"
#include "kernels/attention/tile_io.h"

namespace ll::attn {

namespace {

constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2 = 0.693147180559945309f;

// One thread's buffers (padded sizes: D' = pad(D), Bq' = pad(query_tile)).
struct ForwardTiles {
  float* qt;     // [D × Bq']   query tile, transposed
  float* k;      // [Bk × D']   key tile
  float* v;      // [Bk × D']   value tile
  float* s;      // [Bk × Bq']  scores, then probabilities (transposed)
  float* o;      // [Bq × D']   output accumulator
  float* m;      // [Bq']       running max per query (log2 units)
  float* l;      // [Bq']       running sum per query
  float* alpha;  // [Bq']       rescale factor of the current step

  ForwardTiles(ScratchCarver& c, int64_t D, int query_tile, int key_tile) {
    const int64_t Dp = pad_to_tile(D), qp = pad_to_tile(query_tile);
    qt = c.take(D * qp);
    k = c.take(key_tile * Dp);
    v = c.take(key_tile * Dp);
    s = c.take(key_tile * qp);
    o = c.take(query_tile * Dp);
    m = c.take(qp);
    l = c.take(qp);
    alpha = c.take(qp);
  }
};

void forward_task(const AttentionPlan& plan, const QueryTask& task, const AttentionQKV& in, const HeadsView& o,
                  float* lse, const ForwardTiles& t, const TileKernels& kern, std::vector<TokenRange>& key_tiles) {
  const int64_t D = plan.head_dim, Dp = pad_to_tile(D);
  const int qb = static_cast<int>(task.end - task.begin);
  const int qp = static_cast<int>(pad_to_tile(qb));
  const int64_t b = task.b, h = task.h, g = h / plan.group();
  const int64_t row0 = task.begin - plan.q_offset[b];  // query row of position task.begin
  const float scale_log2 = kLog2e / std::sqrt(static_cast<float>(D));

  load_rows_transposed(t.qt, qp, in.q, b, row0, qb, h, D);
  std::fill(t.m, t.m + qp, kNoScoreYet);
  std::fill(t.l, t.l + qp, 0.0f);
  std::fill(t.o, t.o + qb * Dp, 0.0f);

  key_tiles_of(task, plan.key_tile, key_tiles);
  for (size_t i = 0; i < key_tiles.size(); ++i) {
    const TokenRange& tile = key_tiles[i];
    const int64_t j0 = tile.begin;
    const int kb = static_cast<int>(tile.end - tile.begin);
    load_rows(t.k, Dp, in.k, b, j0, kb, g, D);
    load_rows(t.v, Dp, in.v, b, j0, kb, g, D);
    if (i + 1 < key_tiles.size()) {
      const TokenRange& next = key_tiles[i + 1];
      prefetch_rows(in.k, b, next.begin, next.end - next.begin, g, D);
      prefetch_rows(in.v, b, next.begin, next.end - next.begin, g, D);
    }
    kern.gemm(kb, qp, static_cast<int>(D), t.k, Dp, 1, t.qt, qp, t.s, qp, false);  // Sᵀ = K·Qᵀ
    if (tile.diagonal && tile.end - 1 > task.begin) mask_future_keys_transposed(t.s, qp, kb, qp, j0 - task.begin);
    kern.softmax_step(t.s, qp, kb, qp, scale_log2, t.m, t.l, t.alpha);
    kern.scale_rows(t.o, Dp, qb, static_cast<int>(Dp), t.alpha);
    kern.gemm(qb, static_cast<int>(Dp), kb, t.s, 1, qp, t.v, Dp, t.o, Dp, true);  // O += P·V
  }

  // o = O / l (alpha now holds 1/l), lse = ln 2 · (m + log2 l).
  for (int r = 0; r < qb; ++r) t.alpha[r] = 1.0f / t.l[r];
  store_rows(o, b, row0, qb, h, D, t.o, Dp, t.alpha);
  if (lse) {
    float* out = lse + (b * plan.q_heads + h) * plan.query_rows + row0;
    for (int r = 0; r < qb; ++r) out[r] = kLn2 * (t.m[r] + std::log2(t.l[r]));
  }
}

}  // namespace

// Visible (query, key) pairs × head dim below which the forward runs on one thread (~1 MFLOP).
constexpr int64_t kSerialForwardWork = int64_t{1} << 18;

int64_t forward_scratch_floats(int64_t head_dim, int query_tile, int key_tile) {
  ScratchCarver counter(nullptr);
  ForwardTiles tiles(counter, head_dim, query_tile, key_tile);
  return counter.used();
}

void flash_forward(const AttentionPlan& plan, const AttentionQKV& in, const HeadsView& o, float* lse,
                   Arena& scratch, const TileKernels& kernels) {
  // Small calls (a decoded token of a small model) run on this thread alone: waking the others for
  // a parallel region costs more than they would save (docs/perf.md, "Generation").
  int64_t pairs = 0;
  for (const QueryTask& task : plan.query_tasks) pairs += task.cost;
  const int threads = pairs * plan.head_dim < parallel_grain(kSerialForwardWork) ? 1 : num_threads();
  const int64_t per_thread = forward_scratch_floats(plan.head_dim, plan.query_tile, plan.key_tile);
  ArenaScope scope(scratch);
  // The tiles of every thread even when this call runs on one (attention_forward_scratch_bytes), so
  // that what a call takes does not depend on its work and a dry run takes the same.
  float* blocks = scratch.alloc<float>(per_thread * num_threads());
  const auto n_tasks = static_cast<int64_t>(plan.query_tasks.size());
#pragma omp parallel num_threads(threads)
  {
    ScratchCarver carver(blocks + per_thread * omp_get_thread_num());
    const ForwardTiles tiles(carver, plan.head_dim, plan.query_tile, plan.key_tile);
    std::vector<TokenRange> key_tiles;
#pragma omp for schedule(dynamic, 1)
    for (int64_t i = 0; i < n_tasks; ++i)
      forward_task(plan, plan.query_tasks[i], in, o, lse, tiles, kernels, key_tiles);
  }
}

}  // namespace ll::attn
