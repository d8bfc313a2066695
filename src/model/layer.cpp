#include "model/layer.h"

#include <algorithm>


namespace ll {

namespace {

struct Dims {
  int64_t C, F, Hq, Hkv, D, qdim, kvdim, qkv_width;
  explicit Dims(const LlamaConfig& c)
      : C(c.hidden_size), F(c.intermediate_size), Hq(c.num_heads), Hkv(c.num_kv_heads), D(c.head_dim),
        qdim(c.q_dim()), kvdim(c.kv_dim()), qkv_width(qdim + 2 * kvdim) {}
};

const Linear& projection(const LlamaLayerWeights& w, int p) {
  const Linear* all[kProjections] = {&w.q, &w.k, &w.v, &w.o, &w.gate, &w.up, &w.down};
  return *all[p];
}

AttentionShape attention_shape(const Dims& d, const BatchLayout& batch) {
  AttentionShape shape;
  shape.batch = batch.B;
  shape.max_len = batch.T;
  shape.q_heads = d.Hq;
  shape.kv_heads = d.Hkv;
  shape.head_dim = d.D;
  shape.lengths = batch.lengths;
  return shape;
}

// q, k, v inside a fused [B, T, (Hq + 2·Hkv)·D] buffer.
AttentionQKV fused_heads(float* qkv, const Dims& d, const BatchLayout& batch) {
  const int64_t bs = batch.T * d.qkv_width;
  return {{qkv, DType::F32, bs, d.qkv_width},
          {qkv + d.qdim, DType::F32, bs, d.qkv_width},
          {qkv + d.qdim + d.kvdim, DType::F32, bs, d.qkv_width}};
}

// t rows of a projection's LoRA from row r0 on, or nullptr without a LoRA.
float* lora_rows(const LlamaLayerWeights& w, const LayerActivations& a, int p, int64_t r0) {
  const LoraAdapter* lora = projection(w, p).lora;
  return lora ? a.lora_t[p] + r0 * lora->rank : nullptr;
}

// The masks a chunk of a chunked MLP draws: chunk c > 0 its own (a mask is a function of the row
// within the call), the same in the forward and the backward's recompute.
DropoutContext chunk_dropout(const DropoutContext& dropout, int64_t r0, int64_t rows) {
  DropoutContext c = dropout;
  c.seed += static_cast<uint64_t>(r0 / rows) * 0x9E3779B97F4A7C15ull;
  return c;
}

// The MLP of rows [r0, r0 + n) of a chunked or whole MLP: gate_up and act of those rows (in a's
// buffers, from their start), and with x_out: x_out rows = x_mid rows + act · Wdownᵀ. Without
// x_out, a LoRA on down still produces its t (into scratch output rows).
void mlp_forward_rows(Backend& be, const LlamaLayerWeights& w, const Dims& d, const LayerActivations& a, int64_t r0,
                      int64_t n, float* x_out, const DropoutContext& dropout, Arena& arena) {
  ArenaScope scope(arena);
  const DropoutContext dc = chunk_dropout(dropout, r0, a.mlp_rows);
  linear_layer_forward(be, w.gate, a.gate_up, 2 * d.F, a.ln2 + r0 * d.C, d.C, n, lora_rows(w, a, kGate, r0), false,
                       dc, arena);
  linear_layer_forward(be, w.up, a.gate_up + d.F, 2 * d.F, a.ln2 + r0 * d.C, d.C, n, lora_rows(w, a, kUp, r0), false,
                       dc, arena);
  be.swiglu_forward(a.act, a.gate_up, n, d.F);
  float* out = x_out ? x_out + r0 * d.C : nullptr;
  if (!out) {
    if (!w.down.lora) return;
    out = arena.alloc<float>(n * d.C);
  }
  be.copy(out, a.x_mid + r0 * d.C, static_cast<size_t>(n * d.C) * sizeof(float));
  linear_layer_forward(be, w.down, out, d.C, a.act, d.F, n, lora_rows(w, a, kDown, r0), /*accumulate=*/true, dc,
                       arena);
}

}  // namespace

LayerActivations alloc_layer_activations(const LlamaModel& model, int64_t layer, const BatchLayout& batch,
                                         bool for_backward, Arena& arena, const KeptAttention* kept,
                                         int64_t mlp_chunk) {
  const Dims d(model.config());
  const int64_t R = batch.rows();
  LayerActivations a;
  a.ln1 = arena.alloc<float>(R * d.C);
  a.rstd1 = arena.alloc<float>(R);
  a.qkv = arena.alloc<float>(R * d.qkv_width);
  if (kept) {
    a.att = kept->dtype == DType::F32 ? static_cast<float*>(kept->att) : arena.alloc<float>(R * d.qdim);
    a.kept = kept->dtype == DType::F32 ? nullptr : kept;
    a.lse = kept->lse;
  } else {
    a.att = arena.alloc<float>(R * d.qdim);
    a.lse = for_backward ? arena.alloc<float>(batch.B * d.Hq * batch.T) : nullptr;
  }
  a.x_mid = arena.alloc<float>(R * d.C);
  a.ln2 = arena.alloc<float>(R * d.C);
  a.rstd2 = arena.alloc<float>(R);
  a.mlp_rows = mlp_chunk > 0 ? std::min(mlp_chunk, R) : R;
  a.gate_up = arena.alloc<float>(a.mlp_rows * 2 * d.F);
  a.act = arena.alloc<float>(a.mlp_rows * d.F);
  const LlamaLayerWeights& w = model.layers[static_cast<size_t>(layer)];
  for (int p = 0; p < kProjections; ++p)
    if (const LoraAdapter* lora = projection(w, p).lora) a.lora_t[p] = arena.alloc<float>(R * lora->rank);
  return a;
}

void layer_forward(const LlamaModel& model, int64_t layer, const BatchLayout& batch, const int32_t* pos,
                   const RopeTable& rope, const float* x_in, float* x_out, const LayerActivations& a,
                   const LayerAttention& attention, const DropoutContext& dropout, Arena& arena) {
  Backend& be = model.backend();
  const LlamaConfig& c = model.config();
  const LlamaLayerWeights& w = model.layers[static_cast<size_t>(layer)];
  const Dims d(c);
  const int64_t R = batch.rows();

  // ln1 = rmsnorm(x); qkv = ln1 · [Wq; Wk; Wv]ᵀ with RoPE on q and k.
  be.rmsnorm_forward(a.ln1, a.rstd1, x_in, w.attn_norm.data(), R, d.C, c.rms_norm_eps);
  linear_layer_forward(be, w.q, a.qkv, d.qkv_width, a.ln1, d.C, R, a.lora_t[kQ], false, dropout, arena);
  linear_layer_forward(be, w.k, a.qkv + d.qdim, d.qkv_width, a.ln1, d.C, R, a.lora_t[kK], false, dropout, arena);
  linear_layer_forward(be, w.v, a.qkv + d.qdim + d.kvdim, d.qkv_width, a.ln1, d.C, R, a.lora_t[kV], false, dropout,
                       arena);
  be.rope_forward(a.qkv, pos, R, d.Hq, d.D, d.qkv_width, rope);
  be.rope_forward(a.qkv + d.qdim, pos, R, d.Hkv, d.D, d.qkv_width, rope);
  // bf16 compute holds q, k, v in bf16 as autocast does (their gradient passes straight through).
  if (model.precision() == Precision::BF16) be.round_to_bf16(a.qkv, a.qkv, R * d.qkv_width);

  // att = attention(q, k, v)
  const AttentionQKV qkv = fused_heads(a.qkv, d, batch);
  const HeadsView out = contiguous_heads(a.att, DType::F32, batch.T, d.Hq, d.D);
  if (attention.attention_done) {
    LL_CHECK(a.att && a.lse && !attention.cache);
  } else if (attention.cache) {
    KVCache& cache = *attention.cache;
    LL_CHECK(batch.B == 1 && cache.length() + batch.T <= cache.capacity());
    // The T new tokens' k and v rows appended to the cache, in its dtype.
    be.convert_rows(cache.key_row(layer, cache.length()), cache.dtype(), d.kvdim, a.qkv + d.qdim, d.qkv_width,
                    batch.T, d.kvdim);
    be.convert_rows(cache.value_row(layer, cache.length()), cache.dtype(), d.kvdim, a.qkv + d.qdim + d.kvdim,
                    d.qkv_width, batch.T, d.kvdim);
    CachedAttentionShape shape;
    shape.batch = 1;
    shape.max_queries = batch.T;
    shape.cache_len = cache.capacity();
    shape.q_heads = d.Hq;
    shape.kv_heads = d.Hkv;
    shape.head_dim = d.D;
    shape.q_start = {cache.length()};
    shape.q_len = {batch.T};
    be.attention_forward_cached(shape, {qkv.q, cache.keys(layer), cache.values(layer)}, out, a.lse, arena);
  } else {
    be.attention_forward(attention_shape(d, batch), attention.mask, qkv, out, a.lse, arena);
  }
  if (!attention.attention_done) {
    // bf16 compute holds the attention output in bf16 too (the o projection reads it so anyway).
    if (model.precision() == Precision::BF16) be.round_to_bf16(a.att, a.att, R * d.qdim);
    if (a.kept) be.convert_rows(a.kept->att, a.kept->dtype, d.qdim, a.att, d.qdim, R, d.qdim);
  } else if (a.kept) {
    Tensor kept = Tensor::view(a.kept->att, a.kept->dtype, {R * d.qdim});
    kept.device = be.device();
    be.load_as_f32(a.att, kept);
  }

  // x_mid = x + att · Woᵀ
  be.copy(a.x_mid, x_in, static_cast<size_t>(R * d.C) * sizeof(float));
  linear_layer_forward(be, w.o, a.x_mid, d.C, a.att, d.qdim, R, a.lora_t[kO], /*accumulate=*/true, dropout, arena);

  // act = silu(ln2 · Wgateᵀ) · (ln2 · Wupᵀ),  ln2 = rmsnorm(x_mid);  x_out = x_mid + act · Wdownᵀ,
  // over chunks of rows when chunked (a recompute needs no x_out, only the t of a LoRA on down; a
  // chunked recompute leaves the whole MLP to the backward).
  be.rmsnorm_forward(a.ln2, a.rstd2, a.x_mid, w.ffn_norm.data(), R, d.C, c.rms_norm_eps);
  if (!x_out && a.mlp_rows < R) return;
  for (int64_t r0 = 0; r0 < R; r0 += a.mlp_rows)
    mlp_forward_rows(be, w, d, a, r0, std::min(a.mlp_rows, R - r0), x_out, dropout, arena);
}

void layer_backward(const LlamaModel& model, int64_t layer, const BatchLayout& batch, const int32_t* pos,
                    const RopeTable& rope, const float* x_in, const LayerActivations& a, const AttentionMask& mask,
                    const float* dx_out, float* dx_in, const DropoutContext& dropout, Arena& arena) {
  ArenaScope scope(arena);
  Backend& be = model.backend();
  const LlamaConfig& c = model.config();
  const LlamaLayerWeights& w = model.layers[static_cast<size_t>(layer)];
  const Dims d(c);
  const int64_t R = batch.rows();
  const int64_t M = a.mlp_rows;  // rows of the MLP at a time
  float* d_x_mid = arena.alloc<float>(R * d.C);
  float* d_act = arena.alloc<float>(M * d.F);
  float* d_gate_up = arena.alloc<float>(M * 2 * d.F);
  float* d_ln = arena.alloc<float>(R * d.C);
  float* d_att = arena.alloc<float>(R * d.qdim);
  float* d_qkv = arena.alloc<float>(R * d.qkv_width);

  // x_out = x_mid + act · Wdownᵀ:  d_x_mid = dx_out,  d_act = dx_out · Wdown
  be.copy(d_x_mid, dx_out, static_cast<size_t>(R * d.C) * sizeof(float));
  for (int64_t r0 = 0; r0 < R; r0 += M) {
    const int64_t n = std::min(M, R - r0);
    // A chunked MLP's gate_up and act are recomputed for the chunk (with its LoRAs' t).
    if (M < R) mlp_forward_rows(be, w, d, a, r0, n, /*x_out=*/nullptr, dropout, arena);
    const DropoutContext dc = chunk_dropout(dropout, r0, M);
    linear_layer_backward(be, w.down, d_act, d.F, false, dx_out + r0 * d.C, d.C, a.act, d.F,
                          lora_rows(w, a, kDown, r0), n, dc, arena);
    // act = silu(gate) · up
    be.swiglu_backward(d_gate_up, d_act, a.gate_up, n, d.F);
    // gu = ln2 · [Wgate; Wup]ᵀ:  d_ln2 = d_gate · Wgate + d_up · Wup
    linear_layer_backward(be, w.gate, d_ln + r0 * d.C, d.C, false, d_gate_up, 2 * d.F, a.ln2 + r0 * d.C, d.C,
                          lora_rows(w, a, kGate, r0), n, dc, arena);
    linear_layer_backward(be, w.up, d_ln + r0 * d.C, d.C, true, d_gate_up + d.F, 2 * d.F, a.ln2 + r0 * d.C, d.C,
                          lora_rows(w, a, kUp, r0), n, dc, arena);
  }
  // ln2 = rmsnorm(x_mid):  d_x_mid += ∂ln2/∂x_mid · d_ln2
  be.rmsnorm_backward(d_x_mid, w.ffn_norm.grad_data(), d_ln, a.x_mid, w.ffn_norm.data(), a.rstd2, R, d.C);

  // x_mid = x + att · Woᵀ:  dx_in = d_x_mid,  d_att = d_x_mid · Wo
  be.copy(dx_in, d_x_mid, static_cast<size_t>(R * d.C) * sizeof(float));
  linear_layer_backward(be, w.o, d_att, d.qdim, false, d_x_mid, d.C, a.att, d.qdim, a.lora_t[kO], R, dropout, arena);

  // att = attention(q, k, v): d_qkv gets dq | dk | dv
  be.attention_backward(attention_shape(d, batch), mask, fused_heads(a.qkv, d, batch),
                        contiguous_heads(a.att, DType::F32, batch.T, d.Hq, d.D), a.lse,
                        contiguous_heads(d_att, DType::F32, batch.T, d.Hq, d.D), fused_heads(d_qkv, d, batch), arena);
  // RoPE: back through the rotations of q and k
  be.rope_backward(d_qkv, pos, R, d.Hq, d.D, d.qkv_width, rope);
  be.rope_backward(d_qkv + d.qdim, pos, R, d.Hkv, d.D, d.qkv_width, rope);
  // qkv = ln1 · [Wq; Wk; Wv]ᵀ:  d_ln1 = dq · Wq + dk · Wk + dv · Wv
  linear_layer_backward(be, w.q, d_ln, d.C, false, d_qkv, d.qkv_width, a.ln1, d.C, a.lora_t[kQ], R, dropout, arena);
  linear_layer_backward(be, w.k, d_ln, d.C, true, d_qkv + d.qdim, d.qkv_width, a.ln1, d.C, a.lora_t[kK], R, dropout,
                        arena);
  linear_layer_backward(be, w.v, d_ln, d.C, true, d_qkv + d.qdim + d.kvdim, d.qkv_width, a.ln1, d.C, a.lora_t[kV], R,
                        dropout, arena);
  // ln1 = rmsnorm(x):  dx_in += ∂ln1/∂x · d_ln1
  be.rmsnorm_backward(dx_in, w.attn_norm.grad_data(), d_ln, x_in, w.attn_norm.data(), a.rstd1, R, d.C);
}

}  // namespace ll
