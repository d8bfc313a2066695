#include "model/layer.h"

#include <cstring>

#include "core/half.h"
#include "kernels/rmsnorm.h"
#include "kernels/swiglu.h"

namespace ll {

namespace {

struct Dims {
  int64_t C, F, Hq, Hkv, D, qdim, kvdim, qkv_width;
  explicit Dims(const LlamaConfig& c)
      : C(c.hidden_size), F(c.intermediate_size), Hq(c.num_heads), Hkv(c.num_kv_heads), D(c.head_dim),
        qdim(c.num_heads * c.head_dim), kvdim(c.num_kv_heads * c.head_dim), qkv_width(qdim + 2 * kvdim) {}
};

}  // namespace

LayerActivations alloc_layer_activations(const LlamaConfig& c, const BatchLayout& batch, bool for_backward,
                                         Arena& arena) {
  const Dims d(c);
  const int64_t R = batch.rows();
  LayerActivations a;
  a.ln1 = arena.alloc<float>(R * d.C);
  a.rstd1 = arena.alloc<float>(R);
  a.qkv = arena.alloc<float>(R * d.qkv_width);
  a.att = arena.alloc<float>(R * d.qdim);
  a.lse = for_backward ? arena.alloc<float>(batch.B * d.Hq * batch.T) : nullptr;
  a.x_mid = arena.alloc<float>(R * d.C);
  a.ln2 = arena.alloc<float>(R * d.C);
  a.rstd2 = arena.alloc<float>(R);
  a.gate_up = arena.alloc<float>(R * 2 * d.F);
  a.act = arena.alloc<float>(R * d.F);
  return a;
}

void layer_forward(const LlamaModel& model, int64_t layer, const BatchLayout& batch, const int32_t* pos,
                   const RopeTable& rope, const float* x_in, float* x_out, const LayerActivations& a,
                   const AttentionPlan& plan, Arena& arena) {
  const LlamaConfig& c = model.config();
  const LlamaLayerWeights& w = model.layers[static_cast<size_t>(layer)];
  const Dims d(c);
  const int64_t R = batch.rows();

  // ln1 = rmsnorm(x); qkv = ln1 · [Wq; Wk; Wv]ᵀ with RoPE on q and k.
  rmsnorm_forward(a.ln1, a.rstd1, x_in, w.attn_norm.as<float>(), R, static_cast<int>(d.C), c.rms_norm_eps);
  linear_forward(a.qkv, d.qkv_width, a.ln1, d.C, R, w.q);
  linear_forward(a.qkv + d.qdim, d.qkv_width, a.ln1, d.C, R, w.k);
  linear_forward(a.qkv + d.qdim + d.kvdim, d.qkv_width, a.ln1, d.C, R, w.v);
  const int D = static_cast<int>(d.D);
  rope_forward(a.qkv, pos, R, static_cast<int>(d.Hq), D, d.qkv_width, rope);
  rope_forward(a.qkv + d.qdim, pos, R, static_cast<int>(d.Hkv), D, d.qkv_width, rope);
  if (model.precision() == Precision::BF16) round_to_bf16(a.qkv, a.qkv, R * d.qkv_width);

  // att = attention(q, k, v)
  const HeadsView q{a.qkv, DType::F32, batch.T * d.qkv_width, d.qkv_width};
  const HeadsView out = contiguous_heads(a.att, DType::F32, batch.T, d.Hq, d.D);
  if (plan.cache) {
    KVCache& cache = *plan.cache;
    LL_CHECK(batch.B == 1 && cache.length() + batch.T <= cache.capacity());
    for (int64_t t = 0; t < batch.T; ++t) {
      std::memcpy(cache.key_row(layer, cache.length() + t), a.qkv + t * d.qkv_width + d.qdim, d.kvdim * sizeof(float));
      std::memcpy(cache.value_row(layer, cache.length() + t), a.qkv + t * d.qkv_width + d.qdim + d.kvdim,
                  d.kvdim * sizeof(float));
    }
    CachedAttentionShape shape;
    shape.batch = 1;
    shape.max_queries = batch.T;
    shape.cache_len = cache.capacity();
    shape.q_heads = d.Hq;
    shape.kv_heads = d.Hkv;
    shape.head_dim = d.D;
    shape.q_start = {cache.length()};
    shape.q_len = {batch.T};
    attention_forward_cached(shape, {q, cache.keys(layer), cache.values(layer)}, out, a.lse, arena);
  } else {
    AttentionShape shape;
    shape.batch = batch.B;
    shape.max_len = batch.T;
    shape.q_heads = d.Hq;
    shape.kv_heads = d.Hkv;
    shape.head_dim = d.D;
    shape.lengths = batch.lengths;
    const HeadsView k{a.qkv + d.qdim, DType::F32, batch.T * d.qkv_width, d.qkv_width};
    const HeadsView v{a.qkv + d.qdim + d.kvdim, DType::F32, batch.T * d.qkv_width, d.qkv_width};
    attention_forward(shape, plan.mask, {q, k, v}, out, a.lse, arena);
  }

  // x_mid = x + att · Woᵀ
  std::memcpy(a.x_mid, x_in, static_cast<size_t>(R * d.C) * sizeof(float));
  linear_forward(a.x_mid, d.C, a.att, d.qdim, R, w.o, /*accumulate=*/true);

  // act = silu(ln2 · Wgateᵀ) · (ln2 · Wupᵀ),  ln2 = rmsnorm(x_mid)
  rmsnorm_forward(a.ln2, a.rstd2, a.x_mid, w.ffn_norm.as<float>(), R, static_cast<int>(d.C), c.rms_norm_eps);
  linear_forward(a.gate_up, 2 * d.F, a.ln2, d.C, R, w.gate);
  linear_forward(a.gate_up + d.F, 2 * d.F, a.ln2, d.C, R, w.up);
  swiglu_forward_fused(a.act, a.gate_up, R, static_cast<int>(d.F));

  // x_out = x_mid + act · Wdownᵀ
  std::memcpy(x_out, a.x_mid, static_cast<size_t>(R * d.C) * sizeof(float));
  linear_forward(x_out, d.C, a.act, d.F, R, w.down, /*accumulate=*/true);
}

}  // namespace ll
