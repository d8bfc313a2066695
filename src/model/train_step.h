// The training pass: forward over a batch, the next-token loss, and the backward into every
// trainable parameter's gradient, with per-layer gradient checkpointing.
//
//   x_0 = embed[tokens];  x_{l+1} = layer_l(x_l);  h = rmsnorm(x_L);  logits = h · lm_headᵀ
//   loss = Σ_{rows r with target ≠ −100} −log softmax(logits_r)[target_r]
//
// The final norm and vocabulary head run `loss_chunk` rows at a time (norm, logits, softmax-CE, and
// their backward), so neither the [R, V] logits nor h exist whole. With checkpointing only the layer
// inputs x_l and attention outputs (with their log-sum-exp; not with keep_attention off) are kept,
// and the last layer's activations until its backward (which comes first); every other layer's
// forward but its attention (when kept) and down projection is recomputed just before its backward,
// its MLP (and its backward) over chunks of `mlp_chunk` rows, so that one layer's working set is
// C-wide rows, not F-wide ones. At bf16 compute the layer inputs and attention outputs are kept in
// bf16 (~2·(C + Hq·D) bytes a token a layer): the forward reads each layer input as kept, so the
// recompute reproduces it exactly, with or without checkpointing.
#pragma once
#include <cstdint>
#include <vector>

#include "core/arena.h"
#include "kernels/attention/attention.h"
#include "model/forward.h"
#include "model/layer.h"
#include "model/llama_model.h"

namespace ll {

struct TrainBatch {
  BatchLayout layout;                            // B × T, lengths[b]
  std::vector<int32_t> tokens;                   // [B·T] (padding: any valid id)
  std::vector<int32_t> targets;                  // [B·T] next token, or −100 (no loss)
  std::vector<std::vector<int64_t>> doc_starts;  // per row, for the document mask (empty = none)
};

struct TrainPassOptions {
  AttentionMask mask;         // Causal (--full-attn) or S² (doc_starts are taken from the batch)
  bool checkpointing = true;
  // With checkpointing: keep each layer's attention output and log-sum-exp (one more [R, Hq·D] per
  // layer) so that its recompute skips attention; false recomputes attention too, as LongLoRA's own
  // checkpointing does — only the layer inputs are kept (--recompute-attention).
  bool keep_attention = true;
  float grad_scale = 1;       // gradients are those of grad_scale · Σ loss
  DropoutContext dropout;
  int64_t loss_chunk = kLogitChunkRows;  // rows of logits at a time
  int64_t mlp_chunk = kMlpChunkRows;     // rows of a layer's MLP at a time, with checkpointing
};

struct LossSum {
  double sum = 0;     // Σ loss over counted rows
  int64_t count = 0;  // rows with a target
};

// Forward + backward; gradients ACCUMULATE into model.trainable_params() (call zero_grads() first).
LossSum forward_backward(LlamaModel& model, const TrainBatch& batch, const TrainPassOptions& options, Arena& arena);

// Forward only, with the same attention mask: the loss sum.
LossSum forward_loss(const LlamaModel& model, const TrainBatch& batch, const AttentionMask& mask, Arena& arena);

}  // namespace ll
