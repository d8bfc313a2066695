#include "model/memory_plan.h"

#include <algorithm>
#include <cstdio>

#include "kernels/attention/attention.h"
#include "model/forward.h"

namespace ll {

namespace {

constexpr uint64_t kF32 = 4;
constexpr int64_t kPrefillChunk = 512;  // model/forward.h forward_cached

struct Sizes {
  uint64_t C, F, V, L, qdim, kvdim, D, Hq;
  explicit Sizes(const LlamaConfig& c)
      : C(c.hidden_size), F(c.intermediate_size), V(c.vocab_size), L(c.num_layers), qdim(c.num_heads * c.head_dim),
        kvdim(c.num_kv_heads * c.head_dim), D(c.head_dim), Hq(c.num_heads) {}
  uint64_t projection_params() const { return L * (qdim * C * 2 + kvdim * C * 2 + 3 * F * C); }
  uint64_t lm_head_params(bool tied) const { return tied ? 0 : V * C; }
  // Floats of one layer's activations per token (model/layer.h LayerActivations).
  uint64_t layer_floats_per_token() const { return 3 * C + 2 + (qdim + 2 * kvdim) + qdim + 3 * F; }
};

// Weights the GEMMs cannot read in place (matmul.h GemmWeight): bytes of their converted copies.
uint64_t prepared_copy_bytes(const Sizes& s, DType weight_dtype, Precision p) {
  const bool native = p == Precision::BF16 && native_bf16_gemm();
  const DType gemm_dtype = native ? DType::BF16 : DType::F32;
  const bool zero_copy = weight_dtype == gemm_dtype && !(p == Precision::BF16 && !native && weight_dtype != DType::BF16);
  if (zero_copy) return 0;
  const uint64_t params = s.projection_params() + s.V * s.C;  // lm_head (or the tied embedding)
  return params * dtype_size(gemm_dtype);
}

uint64_t stored_weight_bytes(const Sizes& s, bool tied, DType weight_dtype) {
  const uint64_t params = s.projection_params() + s.V * s.C + s.lm_head_params(tied) + (2 * s.L + 1) * s.C;
  return params * dtype_size(weight_dtype);
}

}  // namespace

uint64_t MemoryPlan::total() const {
  uint64_t t = 0;
  for (const auto& p : parts) t += p.second;
  return t;
}

MemoryPlan plan_inference(const LlamaConfig& config, DType weight_dtype, Precision precision, int64_t context,
                          int threads) {
  const Sizes s(config);
  const uint64_t N = static_cast<uint64_t>(context), chunk = std::min<uint64_t>(N, kPrefillChunk);
  MemoryPlan plan;
  plan.parts.push_back({"weights (mapped)", stored_weight_bytes(s, config.tie_word_embeddings, weight_dtype)});
  plan.parts.push_back({"weights converted for the GEMMs",
                        prepared_copy_bytes(s, weight_dtype, precision)});
  plan.parts.push_back({"KV cache", 2 * s.L * N * s.kvdim * kF32});
  plan.parts.push_back({"activations (prefill chunk)", chunk * (s.layer_floats_per_token() + 2 * s.C) * kF32 + s.V * kF32});
  plan.parts.push_back({"attention scratch", attention_scratch_bytes(config.head_dim, threads)});
  return plan;
}

MemoryPlan plan_training(const LlamaConfig& config, DType weight_dtype, Precision precision, int64_t context,
                         int threads) {
  const Sizes s(config);
  const uint64_t N = static_cast<uint64_t>(context);
  const uint64_t lora_rank = 8;
  const uint64_t lora_params = s.L * lora_rank * ((s.C + s.qdim) * 2 + (s.C + s.kvdim) * 2);
  const uint64_t trainable_params = s.V * s.C + (2 * s.L + 1) * s.C;  // embed + norms
  MemoryPlan plan;
  plan.parts.push_back({"weights (mapped)", stored_weight_bytes(s, config.tie_word_embeddings, weight_dtype)});
  plan.parts.push_back({"weights converted for the GEMMs",
                        prepared_copy_bytes(s, weight_dtype, precision)});
  // f32 master, gradient, AdamW m and v
  plan.parts.push_back({"LoRA + embed/norm params, grads, AdamW state", (lora_params + trainable_params) * 4 * kF32});
  plan.parts.push_back({"checkpointed layer inputs", (s.L + 1) * N * s.C * kF32});
  // One layer recomputed with its lse, plus the gradients flowing through it.
  plan.parts.push_back({"one layer's activations + gradients",
                        N * (2 * s.layer_floats_per_token() + 4 * s.C) * kF32 + s.Hq * N * kF32});
  plan.parts.push_back({"cross-entropy chunk", std::min<uint64_t>(N, kLogitChunkRows) * s.V * kF32});
  plan.parts.push_back({"attention scratch", attention_scratch_bytes(config.head_dim, threads)});
  return plan;
}

std::string format_bytes(uint64_t bytes) {
  char buf[32];
  const double b = static_cast<double>(bytes);
  if (b >= 1024.0 * 1024 * 1024) std::snprintf(buf, sizeof buf, "%.2f GiB", b / (1024.0 * 1024 * 1024));
  else if (b >= 1024.0 * 1024) std::snprintf(buf, sizeof buf, "%.1f MiB", b / (1024.0 * 1024));
  else if (b >= 1024.0) std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024.0);
  else std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  return buf;
}

}  // namespace ll
