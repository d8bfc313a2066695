#include "model/train_step.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "core/ignore_index.h"
#include "model/forward.h"
#include "model/sliding_window.h"

namespace ll {

namespace {

int64_t counted_rows(const std::vector<int32_t>& targets) {
  return std::count_if(targets.begin(), targets.end(), [](int32_t t) { return t != kIgnoreIndex; });
}

// A dry run's batch (on a measuring backend: the memory plan) has its layout and no ids.
void check_batch(const LlamaModel& model, const TrainBatch& batch) {
  const auto R = static_cast<size_t>(batch.layout.rows());
  const bool dry = model.backend().measuring() && batch.tokens.empty() && batch.targets.empty();
  LL_CHECK(dry || (batch.tokens.size() == R && batch.targets.size() == R));
  LL_CHECK(static_cast<int64_t>(batch.layout.lengths.size()) == batch.layout.B);
}

}  // namespace

LossSum forward_backward(LlamaModel& model, const TrainBatch& batch, const TrainPassOptions& o, Arena& arena) {
  check_batch(model, batch);
  ArenaScope scope(arena);
  Backend& be = model.backend();
  const LlamaConfig& c = model.config();
  const BatchLayout& layout = batch.layout;
  const int64_t R = layout.rows(), C = c.hidden_size, V = c.vocab_size, L = c.num_layers;
  AttentionMask mask = o.mask;
  mask.doc_starts = batch.doc_starts;
  check_sliding_window(model, layout, mask);
  const int32_t* pos = row_positions(be, arena, layout);
  const int32_t* tokens = to_backend(be, arena, batch.tokens.data(), R);
  const int32_t* targets = to_backend(be, arena, batch.targets.data(), R);
  const RopeTable& rope = model.rope(layout.T);

  // x_0 = embed[tokens];  x_{l+1} = layer_l(x_l). Layer inputs are kept (the checkpoints); without
  // checkpointing every layer's activations are kept too. With checkpointing the last layer's are
  // kept as well: its backward comes first, so recomputing them would only cost time; and every
  // other layer keeps its attention output and log-sum-exp, so that its recompute skips attention
  // (the layer's costliest part at long contexts, for one more [R, Hq·D] per layer).
  // At bf16 compute both are kept in bf16 — half the bytes, as LongLoRA's bf16 model holds them: the
  // stream is rounded to bf16 at each layer's input (the forward reads what its recompute will), and
  // the attention output is bf16 already (layer_forward) — and in f32 at f32 compute.
  const DType kept_dtype = model.precision() == Precision::BF16 ? DType::BF16 : DType::F32;
  const int64_t kept_size = static_cast<int64_t>(dtype_size(kept_dtype));
  char* inputs = static_cast<char*>(arena.alloc_bytes(static_cast<size_t>(L * R * C * kept_size)));  // x_0..x_{L−1}
  auto input_at = [&](int64_t l) { return inputs + l * R * C * kept_size; };
  // x [R, C] (f32) ← the kept input of layer l.
  auto widen_input = [&](float* x, int64_t l) {
    Tensor kept = Tensor::view(input_at(l), kept_dtype, {R * C});
    kept.device = be.device();
    be.load_as_f32(x, kept);
  };
  const int64_t att_elements = R * c.num_heads * c.head_dim, lse_floats = layout.B * c.num_heads * layout.T;
  const bool keep_attention = o.checkpointing && o.keep_attention;
  std::vector<KeptAttention> kept_attention(static_cast<size_t>(keep_attention ? L - 1 : 0));
  for (KeptAttention& k : kept_attention) {
    k.att = arena.alloc_bytes(static_cast<size_t>(att_elements * kept_size));
    k.dtype = kept_dtype;
    k.lse = arena.alloc<float>(lse_floats);
  }
  float* x = arena.alloc<float>(2 * R * C);  // the forward's x_l and x_{l+1}; then a widened input
  // The backward's buffers come before the kept activations, so that the last layer's can be
  // released right after its backward (checkpointing keeps only the inputs then).
  float* dx = arena.alloc<float>(R * C);
  float* dx_below = arena.alloc<float>(R * C);
  const Arena::Mark before_kept = arena.mark();
  be.embedding_forward(x, tokens, R, model.embed_table());
  std::vector<LayerActivations> kept(static_cast<size_t>(L));
  LayerKeep keep;
  keep.keep_input = [&](int64_t l, float* x_l) {
    be.convert_rows(input_at(l), kept_dtype, C, x_l, C, R, C);
    if (kept_dtype != DType::F32) widen_input(x_l, l);  // x_l as kept
  };
  keep.activations = &kept;
  keep.attention = keep_attention ? &kept_attention : nullptr;
  for (int64_t l = 0; l < L; ++l) keep.kept_layer.push_back(!o.checkpointing || l == L - 1);
  keep.mlp_chunk = o.checkpointing ? o.mlp_chunk : 0;
  LayerAttention attention;
  attention.mask = mask;
  const float* x_L = forward_layers(model, layout, pos, attention, o.dropout, keep, x, arena);

  // Per chunk of rows: h = rmsnorm(x_L), logits = h·lm_headᵀ, the loss, and straight back through
  // both to dx_L, so that neither h nor dh is ever held for every row.
  be.fill_zero(dx, static_cast<size_t>(R * C) * sizeof(float));
  LossSum loss;
  {
    ArenaScope head_scope(arena);
    const int64_t chunk = std::min(o.loss_chunk, R);
    float* hidden = arena.alloc<float>(chunk * C);    // h rows [chunk, C]
    float* d_hidden = arena.alloc<float>(chunk * C);  // dh rows [chunk, C]
    float* rstd = arena.alloc<float>(chunk);
    float* logits = arena.alloc<float>(chunk * V);
    float* lora_t = model.lm_head.lora ? arena.alloc<float>(chunk * model.lm_head.lora->rank) : nullptr;
    for (int64_t r0 = 0; r0 < R; r0 += chunk) {
      const int64_t n = std::min(chunk, R - r0);
      const float* x_rows = x_L + r0 * C;
      be.rmsnorm_forward(hidden, rstd, x_rows, model.final_norm.data(), n, C, c.rms_norm_eps);
      linear_layer_forward(be, model.lm_head, logits, V, hidden, C, n, lora_t, false, o.dropout, arena);
      loss.sum += be.softmax_cross_entropy(logits, targets + r0, n, V, o.grad_scale);
      // logits = h·lm_headᵀ:  dh = dlogits·lm_head  (and lm_head's own gradients when trainable)
      linear_layer_backward(be, model.lm_head, d_hidden, C, false, logits, V, hidden, C, lora_t, n, o.dropout, arena);
      // h = rmsnorm(x_L):  dx_L rows
      be.rmsnorm_backward(dx + r0 * C, model.final_norm.grad_data(), d_hidden, x_rows, model.final_norm.data(), rstd,
                          n, C);
    }
  }
  loss.count = counted_rows(batch.targets);

  // Layers in reverse; with checkpointing, each layer's forward is recomputed from its input (and its
  // kept attention, when kept) first, up to the activations its backward reads: no x_out.
  for (int64_t l = L - 1; l >= 0; --l) {
    {
      ArenaScope layer_scope(arena);
      // x_l as the forward read it (x's buffers are free: x_L is no longer needed).
      const float* x_in = reinterpret_cast<const float*>(input_at(l));
      if (kept_dtype != DType::F32) {
        widen_input(x, l);
        x_in = x;
      }
      LayerActivations acts;
      if (!keep.kept_layer[static_cast<size_t>(l)]) {
        acts = alloc_layer_activations(model, l, layout, /*for_backward=*/true, arena,
                                       keep_attention ? &kept_attention[static_cast<size_t>(l)] : nullptr,
                                       keep.mlp_chunk);
        LayerAttention recompute;
        recompute.mask = mask;
        recompute.attention_done = keep_attention;
        layer_forward(model, l, layout, pos, rope, x_in, /*x_out=*/nullptr, acts, recompute, o.dropout, arena);
      } else {
        acts = kept[static_cast<size_t>(l)];
      }
      layer_backward(model, l, layout, pos, rope, x_in, acts, mask, dx, dx_below, o.dropout, arena);
    }
    if (o.checkpointing && l == L - 1) arena.release(before_kept);  // the last layer's kept activations
    std::swap(dx, dx_below);
  }

  // x_0 = embed[tokens]:  dembed[tokens] += dx_0
  if (model.embed_master.trainable()) be.embedding_backward(model.embed_master.grad_data(), dx, tokens, R, V, C);
  return loss;
}

LossSum forward_loss(const LlamaModel& model, const TrainBatch& batch, const AttentionMask& mask, Arena& arena) {
  check_batch(model, batch);
  ArenaScope scope(arena);
  const int64_t R = batch.layout.rows(), C = model.config().hidden_size;
  AttentionMask with_docs = mask;
  with_docs.doc_starts = batch.doc_starts;
  float* hidden = arena.alloc<float>(R * C);
  forward_hidden(model, batch.layout, batch.tokens.data(), with_docs, hidden, arena);
  return {lm_head_loss_sum(model, hidden, batch.targets.data(), R, arena), counted_rows(batch.targets)};
}

}  // namespace ll
