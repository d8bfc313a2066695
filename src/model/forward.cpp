#include "model/forward.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "kernels/cross_entropy.h"
#include "kernels/embedding.h"
#include "kernels/rmsnorm.h"
#include "model/sliding_window.h"

namespace ll {

void forward_hidden(const LlamaModel& model, const BatchLayout& batch, const int32_t* tokens,
                    const AttentionMask& mask, float* hidden, Arena& arena) {
  check_sliding_window(model, batch, mask);
  ArenaScope scope(arena);
  const LlamaConfig& c = model.config();
  const int64_t R = batch.rows(), C = c.hidden_size;
  std::vector<int32_t> pos(static_cast<size_t>(R));
  for (int64_t r = 0; r < R; ++r) pos[static_cast<size_t>(r)] = static_cast<int32_t>(r % batch.T);
  const RopeTable& rope = model.rope(batch.T);

  float* x = arena.alloc<float>(R * C);
  float* y = arena.alloc<float>(R * C);
  embedding_forward(x, tokens, R, model.embed_table());
  AttentionPlan plan;
  plan.mask = mask;
  for (int64_t l = 0; l < c.num_layers; ++l) {
    ArenaScope layer_scope(arena);
    const LayerActivations acts = alloc_layer_activations(model, l, batch, /*for_backward=*/false, arena);
    layer_forward(model, l, batch, pos.data(), rope, x, y, acts, plan, DropoutContext{}, arena);
    std::swap(x, y);
  }
  rmsnorm_forward(hidden, nullptr, x, model.final_norm.data(), R, static_cast<int>(C), c.rms_norm_eps);
}

void compute_logits(const LlamaModel& model, const float* hidden, int64_t rows, float* logits, Arena& arena) {
  ArenaScope scope(arena);
  const int64_t C = model.config().hidden_size, V = model.config().vocab_size;
  float* lora_t = model.lm_head.lora ? arena.alloc<float>(rows * model.lm_head.lora->rank) : nullptr;
  linear_layer_forward(model.lm_head, logits, V, hidden, C, rows, lora_t, false, DropoutContext{}, arena);
}

double lm_head_loss_sum(const LlamaModel& model, const float* hidden, const int32_t* targets, int64_t rows,
                        Arena& arena, int64_t chunk) {
  ArenaScope scope(arena);
  const int64_t C = model.config().hidden_size, V = model.config().vocab_size;
  float* logits = arena.alloc<float>(std::min(chunk, rows) * V);
  double sum = 0;
  for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
    const int64_t n = std::min(chunk, rows - r0);
    compute_logits(model, hidden + r0 * C, n, logits, arena);
    sum += cross_entropy_loss(logits, targets + r0, n, static_cast<int>(V));
  }
  return sum;
}

void forward_cached(const LlamaModel& model, KVCache& cache, const int32_t* tokens, int64_t n, float* logits_last,
                    Arena& arena, int64_t chunk) {
  const LlamaConfig& c = model.config();
  const int64_t C = c.hidden_size;
  if (cache.length() + n > cache.capacity())
    fail_input("generation", "sequence of " + std::to_string(cache.length() + n) + " tokens exceeds the KV cache of " +
                                 std::to_string(cache.capacity()));
  check_sliding_window(model, cache.length() + n, "a sequence of " + std::to_string(cache.length() + n) + " tokens");
  const RopeTable& rope = model.rope(cache.length() + n);
  for (int64_t t0 = 0; t0 < n; t0 += chunk) {
    ArenaScope scope(arena);
    BatchLayout batch;
    batch.T = std::min(chunk, n - t0);
    batch.lengths = {batch.T};
    std::vector<int32_t> pos(static_cast<size_t>(batch.T));
    for (int64_t t = 0; t < batch.T; ++t) pos[static_cast<size_t>(t)] = static_cast<int32_t>(cache.length() + t);
    float* x = arena.alloc<float>(batch.T * C);
    float* y = arena.alloc<float>(batch.T * C);
    embedding_forward(x, tokens + t0, batch.T, model.embed_table());
    AttentionPlan plan;
    plan.cache = &cache;
    for (int64_t l = 0; l < c.num_layers; ++l) {
      ArenaScope layer_scope(arena);
      const LayerActivations acts = alloc_layer_activations(model, l, batch, /*for_backward=*/false, arena);
      layer_forward(model, l, batch, pos.data(), rope, x, y, acts, plan, DropoutContext{}, arena);
      std::swap(x, y);
    }
    cache.set_length(cache.length() + batch.T);
    if (t0 + batch.T == n) {
      float* last = arena.alloc<float>(C);
      rmsnorm_forward(last, nullptr, x + (batch.T - 1) * C, model.final_norm.data(), 1, static_cast<int>(C),
                      c.rms_norm_eps);
      compute_logits(model, last, 1, logits_last, arena);
    }
  }
}

}  // namespace ll
