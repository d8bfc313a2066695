#include "model/step_flops.h"

#include "kernels/attention/segments.h"

namespace ll {

namespace {

// 2·M·N·K of y = x·Wᵀ over `rows` rows, with the LoRA path t = x·Aᵀ, y += t·Bᵀ.
double linear_forward_flops(const Linear& lin, double rows) {
  double f = 2 * rows * static_cast<double>(lin.in()) * static_cast<double>(lin.out());
  if (lin.lora) f += 2 * rows * static_cast<double>(lin.lora->rank) * static_cast<double>(lin.in() + lin.out());
  return f;
}

// linear_layer_backward: dx = dy·W (+ dW = dyᵀ·x for a trainable master); LoRA: dB, dt, dA, dx += dt·A.
double linear_backward_flops(const Linear& lin, double rows) {
  const double base = 2 * rows * static_cast<double>(lin.in()) * static_cast<double>(lin.out());
  double f = base;
  if (lin.master && lin.master->trainable()) f += base;
  if (lin.lora) f += 4 * rows * static_cast<double>(lin.lora->rank) * static_cast<double>(lin.in() + lin.out());
  return f;
}

double layer_linear_flops(const LlamaLayerWeights& w, double rows, bool backward) {
  double f = 0;
  for (const Linear* lin : {&w.q, &w.k, &w.v, &w.o, &w.gate, &w.up, &w.down})
    f += backward ? linear_backward_flops(*lin, rows) : linear_forward_flops(*lin, rows);
  return f;
}

}  // namespace

double attention_pairs(const LlamaConfig& c, const BatchLayout& batch, const AttentionMask& mask) {
  double pairs = 0;
  for (int64_t b = 0; b < batch.B; ++b) {
    const int64_t len = batch.lengths.empty() ? batch.T : batch.lengths[static_cast<size_t>(b)];
    const std::span<const int64_t> docs =
        mask.doc_starts.empty() ? std::span<const int64_t>() : std::span<const int64_t>(mask.doc_starts[static_cast<size_t>(b)]);
    for (int64_t h = 0; h < c.num_heads; ++h) {
      for (const attn::Segment& s : attn::row_segments(mask, len, attn::head_class(h, c.num_heads), docs)) {
        const double n = static_cast<double>(s.end - s.begin);
        pairs += n * (n + 1) / 2 + n * static_cast<double>(s.prefix_end - s.prefix_begin);
      }
    }
  }
  return pairs;
}

PassFlops forward_flops(const LlamaModel& model, const BatchLayout& batch, const AttentionMask& mask,
                        int64_t logit_rows) {
  const LlamaConfig& c = model.config();
  const double rows = static_cast<double>(batch.rows());
  PassFlops f;
  for (const LlamaLayerWeights& w : model.layers) f.gemm += layer_linear_flops(w, rows, false);
  f.gemm += linear_forward_flops(model.lm_head, static_cast<double>(logit_rows));
  f.attention = 4.0 * static_cast<double>(c.head_dim) * attention_pairs(c, batch, mask) * static_cast<double>(c.num_layers);
  return f;
}

PassFlops training_flops(const LlamaModel& model, const BatchLayout& batch, const AttentionMask& mask,
                         bool checkpointing, bool keep_attention) {
  const LlamaConfig& c = model.config();
  const double rows = static_cast<double>(batch.rows());
  const double attention_forward =
      4.0 * static_cast<double>(c.head_dim) * attention_pairs(c, batch, mask) * static_cast<double>(c.num_layers);
  PassFlops f;
  f.attention = 3.5 * attention_forward;  // forward + backward (2.5×)
  // Recomputed for every layer but the last, whose activations are kept.
  if (checkpointing && !keep_attention)
    f.attention += attention_forward * static_cast<double>(c.num_layers - 1) / static_cast<double>(c.num_layers);
  for (const LlamaLayerWeights& w : model.layers) {
    f.gemm += layer_linear_flops(w, rows, false) + layer_linear_flops(w, rows, true);
    // Checkpointing recomputes every layer but the last (model/train_step.cpp) without its down
    // projection (unless a LoRA on it needs its t).
    if (checkpointing && &w != &model.layers.back())
      f.gemm += layer_linear_flops(w, rows, false) - (w.down.lora ? 0 : linear_forward_flops(w.down, rows));
    // The last one's MLP too when it runs over chunks of rows: its backward recomputes gate/up (and
    // down when a LoRA on it needs its t) chunk by chunk.
    else if (checkpointing && rows > static_cast<double>(kMlpChunkRows))
      f.gemm += linear_forward_flops(w.gate, rows) + linear_forward_flops(w.up, rows) +
                (w.down.lora ? linear_forward_flops(w.down, rows) : 0);
  }
  f.gemm += linear_forward_flops(model.lm_head, rows) + linear_backward_flops(model.lm_head, rows);
  return f;
}

}  // namespace ll
