// Inference-time forward passes: a whole batch (eval, tests), the lm_head over chunks of rows,
// and incremental decoding against a KV cache (generation, passkey).
#pragma once
#include <cstdint>

#include "core/arena.h"
#include "model/kv_cache.h"
#include "model/layer.h"
#include "model/llama_model.h"

namespace ll {

// Rows of logits the vocabulary head computes at a time (training and evaluation), so the [rows, V]
// logits never exist at once. 1024 rows run its GEMMs near oneDNN's large-matrix rate (256-row
// chunks ran them ~30% slower: docs/perf.md) for 4 MiB of logits per 1000 vocabulary entries.
constexpr int64_t kLogitChunkRows = 1024;

// hidden [R, C] = final-norm hidden states for tokens [R] (R = B·T, row b at positions 0..T-1),
// attention restricted by `mask` (Causal for inference and eval).
void forward_hidden(const LlamaModel& model, const BatchLayout& batch, const int32_t* tokens,
                    const AttentionMask& mask, float* hidden, Arena& arena);

// logits [rows, V] = hidden [rows, C] · lm_headᵀ (+ its LoRA adapter, if any).
void compute_logits(const LlamaModel& model, const float* hidden, int64_t rows, float* logits, Arena& arena);

// Σ over rows with targets[r] ≠ −100 of −log softmax(hidden[r] · lm_headᵀ)[targets[r]], computed
// `chunk` rows at a time so the [rows, V] logits never exist at once.
double lm_head_loss_sum(const LlamaModel& model, const float* hidden, const int32_t* targets, int64_t rows,
                        Arena& arena, int64_t chunk = kLogitChunkRows);

// Appends tokens [n] to the cache (positions cache.length() ..) and writes the logits of the last
// one to logits_last [V]. Long inputs run in chunks of `chunk` tokens (bounded activations).
void forward_cached(const LlamaModel& model, KVCache& cache, const int32_t* tokens, int64_t n, float* logits_last,
                    Arena& arena, int64_t chunk = 512);

}  // namespace ll
