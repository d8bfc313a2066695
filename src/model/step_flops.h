// Floating-point operations of a forward or a training pass of a model as it is set up (LoRA
// adapters, trainable masters), counted the way the benchmarks report efficiency:
//   GEMMs      2·M·N·K for every product the pass runs (base weights, LoRA A and B, lm_head);
//   attention  only the causal work actually needed: 4·D per visible (query, key) pair and query head
//              in the forward, 10·D in the backward (the usual 2.5×), so S²-Attn gets no credit for
//              the pairs it skips.
// Elementwise kernels (norms, RoPE, SwiGLU, softmax-CE, AdamW) are not counted.
#pragma once
#include <cstdint>

#include "kernels/attention/attention.h"
#include "model/layer.h"
#include "model/llama_model.h"

namespace ll {

struct PassFlops {
  double gemm = 0;
  double attention = 0;
  double total() const { return gemm + attention; }
};

// Visible (query, key) pairs of one query head class summed over every query head and batch row.
double attention_pairs(const LlamaConfig& config, const BatchLayout& batch, const AttentionMask& mask);

// One forward over the batch: every layer, and the lm_head for `logit_rows` rows.
PassFlops forward_flops(const LlamaModel& model, const BatchLayout& batch, const AttentionMask& mask,
                        int64_t logit_rows);

// forward_backward (model/train_step.h): forward, lm_head and its backward, every layer's backward
// (input gradients always; weight gradients of trainable masters and LoRA adapters), and with
// checkpointing every layer's forward but the last one's a second time, less its attention (when
// kept: keep_attention) and its down projection (not needed by the backward), and the last one's
// gate/up when its MLP runs over chunks of rows (more than kMlpChunkRows).
PassFlops training_flops(const LlamaModel& model, const BatchLayout& batch, const AttentionMask& mask,
                         bool checkpointing, bool keep_attention);

}  // namespace ll
