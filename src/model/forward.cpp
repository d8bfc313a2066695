#include "model/forward.h"

#include <algorithm>
#include <vector>

#include "model/sliding_window.h"

namespace ll {

const int32_t* to_backend(Backend& backend, Arena& arena, const int32_t* host, int64_t n) {
  int32_t* out = arena.alloc<int32_t>(n);
  if (!backend.measuring()) backend.upload(out, host, static_cast<size_t>(n) * sizeof(int32_t));
  return out;
}

const int32_t* row_positions(Backend& backend, Arena& arena, const BatchLayout& batch) {
  int32_t* out = arena.alloc<int32_t>(batch.rows());
  if (backend.measuring()) return out;
  std::vector<int32_t> row(static_cast<size_t>(batch.T));
  for (int64_t t = 0; t < batch.T; ++t) row[static_cast<size_t>(t)] = static_cast<int32_t>(t);
  for (int64_t b = 0; b < batch.B; ++b) backend.upload(out + b * batch.T, row.data(), row.size() * sizeof(int32_t));
  return out;
}

float* forward_layers(const LlamaModel& model, const BatchLayout& batch, const int32_t* pos,
                      const LayerAttention& attention, const DropoutContext& dropout, const LayerKeep& keep,
                      float* x_base, Arena& arena) {
  const int64_t L = model.config().num_layers, RC = batch.rows() * model.config().hidden_size;
  const RopeTable& rope = model.rope(batch.T + (attention.cache ? attention.cache->length() : 0));
  auto x_at = [&](int64_t l) { return x_base + (l % 2) * RC; };
  for (int64_t l = 0; l < L; ++l) {
    const size_t i = static_cast<size_t>(l);
    if (keep.keep_input) keep.keep_input(l, x_at(l));
    if (keep.activations && keep.kept_layer[i]) {
      (*keep.activations)[i] =
          alloc_layer_activations(model, l, batch, /*for_backward=*/true, arena, nullptr, keep.mlp_chunk);
      layer_forward(model, l, batch, pos, rope, x_at(l), x_at(l + 1), (*keep.activations)[i], attention, dropout,
                    arena);
      continue;
    }
    ArenaScope layer_scope(arena);
    const KeptAttention* kept_attention = keep.attention ? &(*keep.attention)[i] : nullptr;
    const LayerActivations acts =
        alloc_layer_activations(model, l, batch, /*for_backward=*/false, arena, kept_attention, keep.mlp_chunk);
    layer_forward(model, l, batch, pos, rope, x_at(l), x_at(l + 1), acts, attention, dropout, arena);
  }
  return x_at(L);
}

void forward_hidden(const LlamaModel& model, const BatchLayout& batch, const int32_t* tokens,
                    const AttentionMask& mask, float* hidden, Arena& arena) {
  check_sliding_window(model, batch, mask);
  ArenaScope scope(arena);
  Backend& be = model.backend();
  const LlamaConfig& c = model.config();
  const int64_t R = batch.rows(), C = c.hidden_size;
  const int32_t* pos = row_positions(be, arena, batch);
  const int32_t* ids = to_backend(be, arena, tokens, R);
  float* x = arena.alloc<float>(2 * R * C);
  be.embedding_forward(x, ids, R, model.embed_table());
  LayerAttention attention;
  attention.mask = mask;
  const float* x_L = forward_layers(model, batch, pos, attention, DropoutContext{}, LayerKeep{}, x, arena);
  be.rmsnorm_forward(hidden, nullptr, x_L, model.final_norm.data(), R, C, c.rms_norm_eps);
}

void compute_logits(const LlamaModel& model, const float* hidden, int64_t rows, float* logits, Arena& arena) {
  ArenaScope scope(arena);
  const int64_t C = model.config().hidden_size, V = model.config().vocab_size;
  float* lora_t = model.lm_head.lora ? arena.alloc<float>(rows * model.lm_head.lora->rank) : nullptr;
  linear_layer_forward(model.backend(), model.lm_head, logits, V, hidden, C, rows, lora_t, false, DropoutContext{},
                       arena);
}

double lm_head_loss_sum(const LlamaModel& model, const float* hidden, const int32_t* targets, int64_t rows,
                        Arena& arena, int64_t chunk) {
  ArenaScope scope(arena);
  Backend& be = model.backend();
  const int64_t C = model.config().hidden_size, V = model.config().vocab_size;
  const int32_t* device_targets = to_backend(be, arena, targets, rows);
  float* logits = arena.alloc<float>(std::min(chunk, rows) * V);
  double sum = 0;
  for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
    const int64_t n = std::min(chunk, rows - r0);
    compute_logits(model, hidden + r0 * C, n, logits, arena);
    sum += be.cross_entropy_loss(logits, device_targets + r0, n, V);
  }
  return sum;
}

void forward_cached(const LlamaModel& model, KVCache& cache, const int32_t* tokens, int64_t n, float* host_logits,
                    Arena& arena, int64_t chunk) {
  Backend& be = model.backend();
  const LlamaConfig& c = model.config();
  const int64_t C = c.hidden_size;
  if (cache.length() + n > cache.capacity())
    fail_input("generation", "sequence of " + std::to_string(cache.length() + n) + " tokens exceeds the KV cache of " +
                                 std::to_string(cache.capacity()));
  check_sliding_window(model, cache.length() + n, "a sequence of " + std::to_string(cache.length() + n) + " tokens");
  model.rope(cache.length() + n);  // sized once for the whole input, not chunk by chunk
  for (int64_t t0 = 0; t0 < n; t0 += chunk) {
    ArenaScope scope(arena);
    BatchLayout batch;
    batch.T = std::min(chunk, n - t0);
    batch.lengths = {batch.T};
    std::vector<int32_t> host_pos(static_cast<size_t>(batch.T));
    for (int64_t t = 0; t < batch.T; ++t) host_pos[static_cast<size_t>(t)] = static_cast<int32_t>(cache.length() + t);
    const int32_t* pos = to_backend(be, arena, host_pos.data(), batch.T);
    const int32_t* ids = to_backend(be, arena, tokens + t0, batch.T);
    float* x = arena.alloc<float>(2 * batch.T * C);
    be.embedding_forward(x, ids, batch.T, model.embed_table());
    LayerAttention attention;
    attention.cache = &cache;
    const float* x_L = forward_layers(model, batch, pos, attention, DropoutContext{}, LayerKeep{}, x, arena);
    cache.set_length(cache.length() + batch.T);
    if (t0 + batch.T == n) {
      float* last = arena.alloc<float>(C);
      float* logits = arena.alloc<float>(c.vocab_size);
      be.rmsnorm_forward(last, nullptr, x_L + (batch.T - 1) * C, model.final_norm.data(), 1, C, c.rms_norm_eps);
      compute_logits(model, last, 1, logits, arena);
      be.download(host_logits, logits, static_cast<size_t>(c.vocab_size) * sizeof(float));
    }
  }
}

}  // namespace ll
