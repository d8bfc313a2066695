// The public entry points of attention.h: check the inputs, plan, run the passes, zero the padding.
#include "kernels/attention/attention.h"

#include <algorithm>
#include <sstream>
#include <string>

#include "core/error.h"
#include "kernels/attention/passes.h"
#include "kernels/attention/plan.h"
#include "kernels/attention/tile_io.h"
#include "kernels/attention/tile_kernels.h"

namespace ll {

const char* attention_mode_name(AttentionMode mode) {
  switch (mode) {
    case AttentionMode::Causal: return "causal";
    case AttentionMode::S2Shift: return "s2-shift";
    case AttentionMode::S2Roll: return "s2-roll";
  }
  return "?";
}

namespace {

constexpr const char* kWhere = "attention";
constexpr int kMaxTile = 1024;

std::string str(int64_t v) { return std::to_string(v); }
std::string ratio_str(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

void check_heads(int64_t q_heads, int64_t kv_heads, int64_t head_dim) {
  if (q_heads < 1) fail_expected(kWhere, "query heads", "at least 1", str(q_heads));
  if (kv_heads < 1 || q_heads % kv_heads != 0)
    fail_expected(kWhere, "key/value heads", "a divisor of the " + str(q_heads) + " query heads", str(kv_heads));
  if (head_dim < 1) fail_expected(kWhere, "head dimension", "at least 1", str(head_dim));
}

void check_view(const char* name, const HeadsView& v, bool f32_only) {
  if (!v.data) fail_input(kWhere, std::string(name) + ": no data");
  const bool ok = v.dtype == DType::F32 || (!f32_only && (v.dtype == DType::BF16 || v.dtype == DType::F16));
  if (!ok)
    fail_expected(kWhere, std::string(name) + " dtype", f32_only ? "f32" : "f32, bf16 or f16", dtype_name(v.dtype));
  if (v.batch_stride < 0 || v.token_stride < 0) fail_input(kWhere, std::string(name) + ": negative stride");
}

void check_inputs(const AttentionQKV& in) {
  check_view("q", in.q, false);
  check_view("k", in.k, false);
  check_view("v", in.v, false);
}

void check_tuning(const AttentionTuning& tuning) {
  if (tuning.isa && !cpu_isa_available(*tuning.isa))
    fail_input(kWhere, std::string("instruction set '") + cpu_isa_name(*tuning.isa) + "' is not available here");
  if (tuning.query_tile < 0 || tuning.query_tile > kMaxTile)
    fail_expected(kWhere, "query tile", "0 (default) to " + str(kMaxTile), str(tuning.query_tile));
  if (tuning.key_tile < 0 || tuning.key_tile > kMaxTile)
    fail_expected(kWhere, "key tile", "0 (default) to " + str(kMaxTile), str(tuning.key_tile));
}

int query_tile_of(const AttentionTuning& t) { return t.query_tile > 0 ? t.query_tile : kDefaultQueryTile; }
int key_tile_of(const AttentionTuning& t) { return t.key_tile > 0 ? t.key_tile : kDefaultKeyTile; }

void check_shape_and_mask(const AttentionShape& shape, const AttentionMask& mask) {
  check_heads(shape.q_heads, shape.kv_heads, shape.head_dim);
  if (shape.batch < 0) fail_expected(kWhere, "batch", "at least 0 rows", str(shape.batch));
  if (shape.max_len < 0) fail_expected(kWhere, "max_len", "at least 0 tokens", str(shape.max_len));
  if (!shape.lengths.empty() && static_cast<int64_t>(shape.lengths.size()) != shape.batch)
    fail_expected(kWhere, "lengths", str(shape.batch) + " (one per row)", str(shape.lengths.size()));
  for (size_t b = 0; b < shape.lengths.size(); ++b)
    if (shape.lengths[b] < 0 || shape.lengths[b] > shape.max_len)
      fail_expected(kWhere, "length of row " + str(b), "0 to " + str(shape.max_len), str(shape.lengths[b]));

  if (mask.mode != AttentionMode::Causal) {
    if (mask.s2_group < 0) fail_expected(kWhere, "S² group size", "a positive number of tokens", str(mask.s2_group));
    if (mask.s2_group == 0 && !(mask.s2_ratio > 0.0 && mask.s2_ratio <= 1.0))
      fail_expected(kWhere, "S² group ratio", "a ratio in (0, 1]", ratio_str(mask.s2_ratio));
  }
  if (mask.doc_starts.empty()) return;
  if (static_cast<int64_t>(mask.doc_starts.size()) != shape.batch)
    fail_expected(kWhere, "document starts", str(shape.batch) + " lists (one per row)", str(mask.doc_starts.size()));
  for (int64_t b = 0; b < shape.batch; ++b) {
    const int64_t len = shape.lengths.empty() ? shape.max_len : shape.lengths[b];
    int64_t previous = -1;
    for (int64_t start : mask.doc_starts[b]) {
      if (start <= previous || start >= len)
        fail_expected(kWhere, "document start in row " + str(b),
                      "increasing offsets in [0, " + str(len) + ")", str(start));
      previous = start;
    }
  }
}

// Query rows past plan.queries[b] of o and lse (when given) become zeros.
void zero_query_padding(const attn::AttentionPlan& plan, const HeadsView& o, float* lse) {
  for (int64_t b = 0; b < plan.batch; ++b) {
    attn::zero_rows(o, b, plan.queries[b], plan.query_rows, plan.q_heads, plan.head_dim);
    if (!lse) continue;
    for (int64_t h = 0; h < plan.q_heads; ++h) {
      float* row = lse + (b * plan.q_heads + h) * plan.query_rows;
      std::fill(row + plan.queries[b], row + plan.query_rows, 0.0f);
    }
  }
}

}  // namespace

size_t attention_forward_scratch_bytes(int64_t head_dim, int threads, const AttentionTuning& tuning) {
  const int64_t per_thread = attn::forward_scratch_floats(head_dim, query_tile_of(tuning), key_tile_of(tuning));
  return static_cast<size_t>(per_thread) * sizeof(float) * static_cast<size_t>(threads);
}

size_t attention_backward_scratch_bytes(int64_t head_dim, int threads, const AttentionTuning& tuning) {
  const int64_t per_thread = attn::backward_scratch_floats(head_dim, query_tile_of(tuning), key_tile_of(tuning));
  return static_cast<size_t>(per_thread) * sizeof(float) * static_cast<size_t>(threads);
}

size_t attention_scratch_bytes(int64_t head_dim, int threads, const AttentionTuning& tuning) {
  return aligned_size(std::max(attention_forward_scratch_bytes(head_dim, threads, tuning),
                               attention_backward_scratch_bytes(head_dim, threads, tuning)));
}

void attention_forward(const AttentionShape& shape, const AttentionMask& mask, const AttentionQKV& in,
                       const HeadsView& o, float* lse, Arena& scratch, const AttentionTuning& tuning) {
  check_shape_and_mask(shape, mask);
  check_tuning(tuning);
  if (shape.batch == 0 || shape.max_len == 0) return;
  check_inputs(in);
  check_view("o", o, true);

  const attn::AttentionPlan plan = attn::plan_attention(shape, mask, query_tile_of(tuning), key_tile_of(tuning));
  attn::flash_forward(plan, in, o, lse, scratch, attn::tile_kernels(tuning.isa.value_or(cpu_isa())));
  zero_query_padding(plan, o, lse);
}

void attention_backward(const AttentionShape& shape, const AttentionMask& mask, const AttentionQKV& in,
                        const HeadsView& o, const float* lse, const HeadsView& dout, const AttentionQKV& grads,
                        Arena& scratch, const AttentionTuning& tuning) {
  check_shape_and_mask(shape, mask);
  check_tuning(tuning);
  if (shape.batch == 0 || shape.max_len == 0) return;
  check_inputs(in);
  check_view("o", o, true);
  check_view("dout", dout, false);
  check_view("dq", grads.q, true);
  check_view("dk", grads.k, true);
  check_view("dv", grads.v, true);
  if (!lse) fail_input(kWhere, "backward needs the forward's lse");

  attn::AttentionPlan plan = attn::plan_attention(shape, mask, query_tile_of(tuning), key_tile_of(tuning));
  attn::plan_key_tasks(plan);
  attn::flash_backward(plan, in, o, lse, dout, grads, scratch, attn::tile_kernels(tuning.isa.value_or(cpu_isa())));
  for (int64_t b = 0; b < shape.batch; ++b) {
    attn::zero_rows(grads.q, b, plan.queries[b], shape.max_len, shape.q_heads, shape.head_dim);
    attn::zero_rows(grads.k, b, plan.keys[b], shape.max_len, shape.kv_heads, shape.head_dim);
    attn::zero_rows(grads.v, b, plan.keys[b], shape.max_len, shape.kv_heads, shape.head_dim);
  }
}

void attention_forward_cached(const CachedAttentionShape& shape, const AttentionQKV& in, const HeadsView& o,
                              float* lse, Arena& scratch, const AttentionTuning& tuning) {
  check_heads(shape.q_heads, shape.kv_heads, shape.head_dim);
  check_tuning(tuning);
  if (shape.batch < 0) fail_expected(kWhere, "batch", "at least 0 rows", str(shape.batch));
  if (static_cast<int64_t>(shape.q_start.size()) != shape.batch ||
      static_cast<int64_t>(shape.q_len.size()) != shape.batch)
    fail_expected(kWhere, "q_start/q_len", str(shape.batch) + " entries each",
                  str(shape.q_start.size()) + "/" + str(shape.q_len.size()));
  for (int64_t b = 0; b < shape.batch; ++b) {
    if (shape.q_len[b] < 0 || shape.q_len[b] > shape.max_queries)
      fail_expected(kWhere, "query count of row " + str(b), "0 to " + str(shape.max_queries), str(shape.q_len[b]));
    if (shape.q_start[b] < 0 || shape.q_start[b] + shape.q_len[b] > shape.cache_len)
      fail_expected(kWhere, "queries of row " + str(b), "positions inside the cache of " + str(shape.cache_len),
                    "[" + str(shape.q_start[b]) + ", " + str(shape.q_start[b] + shape.q_len[b]) + ")");
  }
  if (shape.batch == 0 || shape.max_queries == 0) return;
  check_inputs(in);
  check_view("o", o, true);

  const attn::AttentionPlan plan = attn::plan_cached_attention(shape, query_tile_of(tuning), key_tile_of(tuning));
  attn::flash_forward(plan, in, o, lse, scratch, attn::tile_kernels(tuning.isa.value_or(cpu_isa())));
  zero_query_padding(plan, o, lse);
}

}  // namespace ll
