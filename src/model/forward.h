// Forward passes over the layer stack: the one loop over the layers that training, evaluation,
// prefill and decoding all run (forward_layers), a whole batch to final hidden states (eval, tests),
// the lm_head over chunks of rows, and incremental decoding against a KV cache (generation, passkey).
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "core/arena.h"
#include "model/kv_cache.h"
#include "model/layer.h"
#include "model/llama_model.h"

namespace ll {

// Rows of logits the vocabulary head computes at a time (training and evaluation), so the [rows, V]
// logits never exist at once. 1024 rows run its GEMMs near oneDNN's large-matrix rate (256-row
// chunks ran them ~30% slower: docs/perf.md) for 4 MiB of logits per 1000 vocabulary entries.
constexpr int64_t kLogitChunkRows = 1024;

// Host ids host[0, n) copied into `arena` (the backend's memory) for the ops. A measuring backend
// (the memory plan's dry runs) only takes the memory: there `host` may be null.
const int32_t* to_backend(Backend& backend, Arena& arena, const int32_t* host, int64_t n);
// Positions 0..T−1 of each of the B rows of a batch [B·T], in `arena`. Built on the host a row at a
// time, so a dry run of a huge context holds no host copy of them.
const int32_t* row_positions(Backend& backend, Arena& arena, const BatchLayout& batch);

// What forward_layers keeps of each layer for a backward.
struct LayerKeep {
  // Called with layer l's input x_l [R, C] (backend memory) before layer l runs, which then reads
  // x_l as the call leaves it: training keeps it (the checkpoint), rounded to bf16 at bf16 compute.
  std::function<void(int64_t layer, float* x)> keep_input;
  // Per layer: activations kept whole until the backward (allocated here, in layer order), or — for a
  // layer that keeps none — its attention output and lse held outside the arena scope (checkpointing:
  // the backward's recompute skips attention), or nothing. Empty vectors: nothing is kept.
  std::vector<LayerActivations>* activations = nullptr;  // [L]; entry l kept when kept_layer(l)
  std::vector<KeptAttention>* attention = nullptr;       // [L]; used when entry l's att is set
  std::vector<bool> kept_layer;                          // [L]
  // Rows of a layer's MLP at a time (layer.h kMlpChunkRows); 0: all rows at once, its activations
  // kept whole (training without checkpointing, which recomputes nothing).
  int64_t mlp_chunk = kMlpChunkRows;
};

// x_{l+1} = layer_l(x_l) for l = 0..L−1 over one batch. x_base: 2 buffers of [R, C], x_0 filled in
// the first (x_l is at x_base + (l % 2)·R·C); returns x_L. pos: [R] positions (backend memory).
float* forward_layers(const LlamaModel& model, const BatchLayout& batch, const int32_t* pos,
                      const LayerAttention& attention, const DropoutContext& dropout, const LayerKeep& keep,
                      float* x_base, Arena& arena);

// hidden [R, C] = final-norm hidden states for tokens [R] (R = B·T, row b at positions 0..T-1),
// attention restricted by `mask` (Causal for inference and eval).
void forward_hidden(const LlamaModel& model, const BatchLayout& batch, const int32_t* tokens,
                    const AttentionMask& mask, float* hidden, Arena& arena);

// logits [rows, V] = hidden [rows, C] · lm_headᵀ (+ its LoRA adapter, if any), in backend memory.
void compute_logits(const LlamaModel& model, const float* hidden, int64_t rows, float* logits, Arena& arena);

// Σ over rows with targets[r] ≠ −100 of −log softmax(hidden[r] · lm_headᵀ)[targets[r]], computed
// `chunk` rows at a time so the [rows, V] logits never exist at once. targets: host.
double lm_head_loss_sum(const LlamaModel& model, const float* hidden, const int32_t* targets, int64_t rows,
                        Arena& arena, int64_t chunk = kLogitChunkRows);

// Appends tokens [n] (host) to the cache (positions cache.length() ..) and writes the logits of the
// last one to host_logits [V]. Long inputs run in chunks of `chunk` tokens (bounded activations).
void forward_cached(const LlamaModel& model, KVCache& cache, const int32_t* tokens, int64_t n, float* host_logits,
                    Arena& arena, int64_t chunk = 512);

}  // namespace ll
