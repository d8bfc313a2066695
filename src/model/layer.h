// One LLaMA decoder layer over a batch of B rows × T tokens (R = B·T activation rows), forward
// and backward side by side:
//
//   ln1   = rmsnorm(x, attn_norm)                          [R, C]
//   qkv   = ln1 · [Wq; Wk; Wv]ᵀ (+ LoRA), RoPE on q and k   [R, (Hq + 2·Hkv)·D]
//   att   = attention(q, k, v)                              [R, Hq·D]
//   x_mid = x + att · Woᵀ                                   [R, C]
//   ln2   = rmsnorm(x_mid, ffn_norm)                        [R, C]
//   gu    = ln2 · [Wgate; Wup]ᵀ                             [R, 2F]
//   act   = silu(gu[:, :F]) · gu[:, F:]                     [R, F]
//   x_out = x_mid + act · Wdownᵀ                            [R, C]
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "core/arena.h"
#include "kernels/attention/attention.h"
#include "model/kv_cache.h"
#include "model/llama_model.h"

namespace ll {

// B rows of T token slots; row b holds lengths[b] ≤ T real tokens (the rest is padding).
struct BatchLayout {
  int64_t B = 1, T = 0;
  std::vector<int64_t> lengths;  // [B]
  int64_t rows() const { return B * T; }
};

// The projections of a layer, indexing LayerActivations::lora_t.
enum Projection { kQ, kK, kV, kO, kGate, kUp, kDown, kProjections };

// The attention result of a layer held outside its activations: checkpointing keeps it from the
// forward to the backward, so that recomputing the layer skips attention. bf16 at bf16 compute, which
// holds the attention output in bf16 anyway (lossless, half the bytes), else f32.
struct KeptAttention {
  void* att = nullptr;  // [R, Hq·D] in dtype
  DType dtype = DType::F32;
  float* lse = nullptr;  // [B, Hq, T]
};

// The intermediates of one layer's forward, kept for its backward (see the diagram above).
struct LayerActivations {
  float* ln1 = nullptr;      // [R, C]
  float* rstd1 = nullptr;    // [R]
  float* qkv = nullptr;      // [R, (Hq + 2·Hkv)·D], q and k after RoPE
  float* att = nullptr;      // [R, Hq·D]
  float* lse = nullptr;      // [B, Hq, T]; nullptr when no backward follows
  float* x_mid = nullptr;    // [R, C]
  float* ln2 = nullptr;      // [R, C]
  float* rstd2 = nullptr;    // [R]
  float* gate_up = nullptr;  // [mlp_rows, 2F]
  float* act = nullptr;      // [mlp_rows, F]
  // Rows gate_up and act hold: R (the whole MLP at once, kept for the backward), or a chunk of rows
  // (the MLP runs chunk by chunk and its backward recomputes gate_up and act chunk by chunk).
  int64_t mlp_rows = 0;
  std::array<float*, kProjections> lora_t{};  // [R, r] per projection with a LoRA adapter
  const KeptAttention* kept = nullptr;  // a 16-bit copy of att held outside (above), or nullptr
};
// Rows the MLP runs at a time when chunked: gate/up [1024, 2F] and its gradient are 86 MiB each at
// LLaMA-2-7B's F = 11008, instead of 688 MiB at 8k tokens; 1024-row GEMMs run near full rate.
constexpr int64_t kMlpChunkRows = 1024;

// With `kept`, lse is kept's buffer, and att too when f32; a 16-bit kept att is stored by the
// forward from an f32 att in the arena and widened back into it by a recompute (layer_forward).
// mlp_chunk > 0: the MLP runs over chunks of that many rows (when R is larger); 0: all rows at once.
LayerActivations alloc_layer_activations(const LlamaModel& model, int64_t layer, const BatchLayout& batch,
                                         bool for_backward, Arena& arena, const KeptAttention* kept = nullptr,
                                         int64_t mlp_chunk = 0);

// How the layer's attention finds its keys and values.
struct LayerAttention {
  AttentionMask mask;        // keys of the same batch row (training, eval)
  KVCache* cache = nullptr;  // or: a single sequence (B = 1) continuing the cache: k/v of the T new
                             // tokens are appended at cache->length() and the queries attend to
                             // everything in the cache (full causal). The caller advances length.
  bool attention_done = false;  // a.att and a.lse already hold this layer's attention (a recompute
                                // for the backward with KeptAttention): it is not run again
};

// x_in, x_out: [R, C] (distinct). pos: [R] absolute positions for RoPE (backend memory). x_out may be nullptr when
// only the activations are wanted (a recompute for the backward): the down projection, whose
// output the backward never reads, is then skipped (unless a LoRA on it must produce its t), and
// with a chunked MLP the whole MLP (its backward recomputes it chunk by chunk).
void layer_forward(const LlamaModel& model, int64_t layer, const BatchLayout& batch, const int32_t* pos,
                   const RopeTable& rope, const float* x_in, float* x_out, const LayerActivations& a,
                   const LayerAttention& attention, const DropoutContext& dropout, Arena& arena);

// Backward of layer_forward given its activations `a` (from a forward with for_backward) and
// dx_out [R, C]: dx_in [R, C] is OVERWRITTEN with the input gradient; trainable parameters of the
// layer ACCUMULATE their gradients. pos, x_in, mask: as in the forward.
void layer_backward(const LlamaModel& model, int64_t layer, const BatchLayout& batch, const int32_t* pos,
                    const RopeTable& rope, const float* x_in, const LayerActivations& a, const AttentionMask& mask,
                    const float* dx_out, float* dx_in, const DropoutContext& dropout, Arena& arena);

}  // namespace ll
