// Flash-attention backward, recomputing the probabilities from q, k and the forward's lse.
//
// Backward of  o = P·V,  P = softmax(S),  S = Q·Kᵀ/√D  (per row and query head; dk, dv summed over
// the query heads of a KV head):
//   dV = Pᵀ·dO    dP = dO·Vᵀ    dS = P ∘ (dP − Δ)/√D with Δ = rowsum(dO ∘ O)    dQ = dS·K    dK = dSᵀ·Q
// with P = 2^(S·c − lse·log2 e), c = log2 e / √D, recomputed tile by tile.
//
// Two passes, so that every output row has exactly one writer (no atomics, no per-thread copies of
// dq/dk/dv, results independent of the thread count):
//   dq pass:    one task per query tile (transposed Q, dO stationary), key tiles streaming:
//               Sᵀ = K·Qᵀ, dPᵀ = V·dOᵀ, dSᵀ, dQ += dS·K.
//   dk/dv pass: one task per key block of a KV head (transposed K, V stationary), the query tiles of
//               every query head that sees the block streaming:
//               S = Q·Kᵀ, dP = dO·Vᵀ, P and dS, dV += Pᵀ·dO, dK += dSᵀ·Q.
// Recomputing S and dP in both passes costs 7 tile products per (query, key) tile pair instead of
// 5: the price of determinism without atomics on a CPU.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/threads.h"
#include "kernels/attention/passes.h"
#include "kernels/attention/tile_io.h"

namespace ll::attn {

namespace {

constexpr float kLog2e = 1.44269504088896341f;
constexpr int64_t kNoCausalMask = std::numeric_limits<int64_t>::min() / 4;  // key_minus_query hiding nothing

// Buffers of the dq pass (D' = pad(D), Bq' = pad(query_tile)).
struct DqTiles {
  float* qt;     // [D × Bq']   query tile, transposed
  float* dot;    // [D × Bq']   its output gradient, transposed
  float* k;      // [Bk × D']   key tile
  float* v;      // [Bk × D']   value tile
  float* s;      // [Bk × Bq']  scores (transposed)
  float* ds;     // [Bk × Bq']  dP, then dS (transposed)
  float* dq;     // [Bq × D']   dq accumulator
  float* lse2;   // [Bq']       lse · log2 e per query
  float* delta;  // [Bq']       rowsum(dO ∘ O) per query

  DqTiles(ScratchCarver& c, int64_t D, int query_tile, int key_tile) {
    const int64_t Dp = pad_to_tile(D), qp = pad_to_tile(query_tile);
    qt = c.take(D * qp);
    dot = c.take(D * qp);
    k = c.take(key_tile * Dp);
    v = c.take(key_tile * Dp);
    s = c.take(key_tile * qp);
    ds = c.take(key_tile * qp);
    dq = c.take(query_tile * Dp);
    lse2 = c.take(qp);
    delta = c.take(qp);
  }
};

// Buffers of the dk/dv pass (Bk' = pad(key_tile)).
struct DkvTiles {
  float* kt;     // [D × Bk']   key block, transposed
  float* vt;     // [D × Bk']   value block, transposed
  float* dk;     // [Bk × D']   dk accumulator
  float* dv;     // [Bk × D']   dv accumulator
  float* q;      // [Bq × D']   query tile
  float* dout;   // [Bq × D']   its output gradient
  float* s;      // [Bq × Bk']  scores, then probabilities
  float* ds;     // [Bq × Bk']  dP, then dS
  float* lse2;   // [Bq]
  float* delta;  // [Bq]

  DkvTiles(ScratchCarver& c, int64_t D, int query_tile, int key_tile) {
    const int64_t Dp = pad_to_tile(D), kp = pad_to_tile(key_tile);
    kt = c.take(D * kp);
    vt = c.take(D * kp);
    dk = c.take(key_tile * Dp);
    dv = c.take(key_tile * Dp);
    q = c.take(query_tile * Dp);
    dout = c.take(query_tile * Dp);
    s = c.take(query_tile * kp);
    ds = c.take(query_tile * kp);
    lse2 = c.take(query_tile);
    delta = c.take(query_tile);
  }
};

struct BackwardArgs {
  const AttentionPlan& plan;
  const AttentionQKV& in;
  const HeadsView& o;
  const float* lse;
  const HeadsView& dout;
  const AttentionQKV& grads;
  const TileKernels& kern;
  float scale;       // 1/√D
  float scale_log2;  // log2 e / √D

  // lse2[r] = lse · log2 e of queries [row0, row0 + n) of head h in row b.
  void load_lse2(float* lse2, int64_t b, int64_t h, int64_t row0, int64_t n) const {
    const float* src = lse + (b * plan.q_heads + h) * plan.query_rows + row0;
    for (int64_t r = 0; r < n; ++r) lse2[r] = src[r] * kLog2e;
  }
};

void dq_task(const BackwardArgs& a, const QueryTask& task, const DqTiles& t, std::vector<TokenRange>& key_tiles) {
  const AttentionPlan& plan = a.plan;
  const int64_t D = plan.head_dim, Dp = pad_to_tile(D);
  const int qb = static_cast<int>(task.end - task.begin);
  const int qp = static_cast<int>(pad_to_tile(qb));
  const int64_t b = task.b, h = task.h, g = h / plan.group();
  const int64_t row0 = task.begin;

  load_rows_transposed(t.qt, qp, a.in.q, b, row0, qb, h, D);
  load_rows_transposed(t.dot, qp, a.dout, b, row0, qb, h, D);
  std::fill(t.lse2, t.lse2 + qp, 0.0f);
  std::fill(t.delta, t.delta + qp, 0.0f);
  a.load_lse2(t.lse2, b, h, row0, qb);
  load_rows(t.dq, Dp, a.dout, b, row0, qb, h, D);  // dO rows, for delta only
  rows_dot(t.delta, t.dq, Dp, a.o, b, row0, qb, h, D);
  std::fill(t.dq, t.dq + qb * Dp, 0.0f);

  key_tiles_of(task, plan.key_tile, key_tiles);
  for (size_t i = 0; i < key_tiles.size(); ++i) {
    const TokenRange& tile = key_tiles[i];
    const int64_t j0 = tile.begin;
    const int kb = static_cast<int>(tile.end - tile.begin);
    load_rows(t.k, Dp, a.in.k, b, j0, kb, g, D);
    load_rows(t.v, Dp, a.in.v, b, j0, kb, g, D);
    if (i + 1 < key_tiles.size()) {
      const TokenRange& next = key_tiles[i + 1];
      prefetch_rows(a.in.k, b, next.begin, next.end - next.begin, g, D);
      prefetch_rows(a.in.v, b, next.begin, next.end - next.begin, g, D);
    }
    a.kern.gemm(kb, qp, static_cast<int>(D), t.k, Dp, 1, t.qt, qp, t.s, qp, false);   // Sᵀ = K·Qᵀ
    a.kern.gemm(kb, qp, static_cast<int>(D), t.v, Dp, 1, t.dot, qp, t.ds, qp, false);  // dPᵀ = V·dOᵀ
    if (tile.diagonal && tile.end - 1 > task.begin) mask_future_keys_transposed(t.s, qp, kb, qp, j0 - task.begin);
    a.kern.grad_cols(t.s, t.ds, qp, kb, qp, a.scale_log2, t.lse2, t.delta, a.scale);
    a.kern.gemm(qb, static_cast<int>(Dp), kb, t.ds, 1, qp, t.k, Dp, t.dq, Dp, true);  // dQ += dS·K
  }
  store_rows(a.grads.q, b, row0, qb, h, D, t.dq, Dp);
}

// A query tile of the dk/dv pass: queries `rows` of head h.
struct HeadTile {
  int64_t h;
  TokenRange rows;
};

// The query tiles that see a key block, over every query head of its KV head, in visiting order.
void query_tiles_of(const AttentionPlan& plan, const KeyTask& task, std::vector<TokenRange>& ranges,
                    std::vector<HeadTile>& out) {
  out.clear();
  for (int64_t h = task.g * plan.group(); h < (task.g + 1) * plan.group(); ++h) {
    queries_of(plan.rows[task.b], head_class(h, plan.q_heads), task.begin, task.end, ranges);
    for (const TokenRange& r : ranges)
      for (int64_t i0 = r.begin; i0 < r.end; i0 += plan.query_tile)
        out.push_back({h, {i0, std::min(r.end, i0 + plan.query_tile), r.diagonal}});
  }
}

void dkv_task(const BackwardArgs& a, const KeyTask& task, const DkvTiles& t, std::vector<TokenRange>& ranges,
              std::vector<HeadTile>& query_tiles) {
  const AttentionPlan& plan = a.plan;
  const int64_t D = plan.head_dim, Dp = pad_to_tile(D);
  const int kb = static_cast<int>(task.end - task.begin);
  const int kp = static_cast<int>(pad_to_tile(kb));
  const int64_t b = task.b, g = task.g, j0 = task.begin;

  load_rows_transposed(t.kt, kp, a.in.k, b, j0, kb, g, D);
  load_rows_transposed(t.vt, kp, a.in.v, b, j0, kb, g, D);
  std::fill(t.dk, t.dk + kb * Dp, 0.0f);
  std::fill(t.dv, t.dv + kb * Dp, 0.0f);

  query_tiles_of(plan, task, ranges, query_tiles);
  for (size_t i = 0; i < query_tiles.size(); ++i) {
    const int64_t h = query_tiles[i].h, i0 = query_tiles[i].rows.begin;
    const int qb = static_cast<int>(query_tiles[i].rows.end - i0);
    load_rows(t.q, Dp, a.in.q, b, i0, qb, h, D);
    load_rows(t.dout, Dp, a.dout, b, i0, qb, h, D);
    a.load_lse2(t.lse2, b, h, i0, qb);
    rows_dot(t.delta, t.dout, Dp, a.o, b, i0, qb, h, D);
    if (i + 1 < query_tiles.size()) {
      const HeadTile& next = query_tiles[i + 1];
      const int64_t n = next.rows.end - next.rows.begin;
      for (const HeadsView* x : {&a.in.q, &a.dout, &a.o}) prefetch_rows(*x, b, next.rows.begin, n, next.h, D);
    }
    a.kern.gemm(qb, kp, static_cast<int>(D), t.q, Dp, 1, t.kt, kp, t.s, kp, false);      // S = Q·Kᵀ
    a.kern.gemm(qb, kp, static_cast<int>(D), t.dout, Dp, 1, t.vt, kp, t.ds, kp, false);  // dP = dO·Vᵀ
    const bool causal = query_tiles[i].rows.diagonal && task.end - 1 > i0;
    if (causal || kb < kp) mask_future_keys(t.s, kp, qb, kb, kp, causal ? j0 - i0 : kNoCausalMask);
    a.kern.grad_rows(t.s, t.ds, kp, qb, kp, a.scale_log2, t.lse2, t.delta, a.scale);
    a.kern.gemm(kb, static_cast<int>(Dp), qb, t.s, 1, kp, t.dout, Dp, t.dv, Dp, true);  // dV += Pᵀ·dO
    a.kern.gemm(kb, static_cast<int>(Dp), qb, t.ds, 1, kp, t.q, Dp, t.dk, Dp, true);    // dK += dSᵀ·Q
  }
  store_rows(a.grads.k, b, j0, kb, g, D, t.dk, Dp);
  store_rows(a.grads.v, b, j0, kb, g, D, t.dv, Dp);
}

}  // namespace

int64_t backward_scratch_floats(int64_t head_dim, int query_tile, int key_tile) {
  ScratchCarver dq_counter(nullptr), dkv_counter(nullptr);
  DqTiles dq(dq_counter, head_dim, query_tile, key_tile);
  DkvTiles dkv(dkv_counter, head_dim, query_tile, key_tile);
  return std::max(dq_counter.used(), dkv_counter.used());
}

void flash_backward(const AttentionPlan& plan, const AttentionQKV& in, const HeadsView& o, const float* lse,
                    const HeadsView& dout, const AttentionQKV& grads, Arena& scratch, const TileKernels& kernels) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(plan.head_dim));
  const BackwardArgs args{plan, in, o, lse, dout, grads, kernels, scale, scale * kLog2e};
  const int threads = num_threads();
  const int64_t per_thread = backward_scratch_floats(plan.head_dim, plan.query_tile, plan.key_tile);
  ArenaScope scope(scratch);
  float* blocks = scratch.alloc<float>(per_thread * threads);

  const auto n_query_tasks = static_cast<int64_t>(plan.query_tasks.size());
#pragma omp parallel num_threads(threads)
  {
    ScratchCarver carver(blocks + per_thread * omp_get_thread_num());
    const DqTiles tiles(carver, plan.head_dim, plan.query_tile, plan.key_tile);
    std::vector<TokenRange> key_tiles;
#pragma omp for schedule(dynamic, 1)
    for (int64_t i = 0; i < n_query_tasks; ++i) dq_task(args, plan.query_tasks[i], tiles, key_tiles);
  }

  const auto n_key_tasks = static_cast<int64_t>(plan.key_tasks.size());
#pragma omp parallel num_threads(threads)
  {
    ScratchCarver carver(blocks + per_thread * omp_get_thread_num());
    const DkvTiles tiles(carver, plan.head_dim, plan.query_tile, plan.key_tile);
    std::vector<TokenRange> ranges;
    std::vector<HeadTile> query_tiles;
#pragma omp for schedule(dynamic, 1)
    for (int64_t i = 0; i < n_key_tasks; ++i) dkv_task(args, plan.key_tasks[i], tiles, ranges, query_tiles);
  }
}

}  // namespace ll::attn
