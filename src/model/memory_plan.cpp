#include "model/memory_plan.h"

#include <algorithm>
#include <cstdio>

#include "formats/llama_tensors.h"
#include "kernels/attention/attention.h"
#include "model/forward.h"

namespace ll {

namespace {

constexpr uint64_t kF32 = 4;
constexpr int64_t kPrefillChunk = 512;  // model/forward.h forward_cached
// The process before and around the model: code and libraries, the tokenizer, the data's
// bookkeeping, oneDNN's primitives and packing buffers, OpenMP's threads. Measured: 12–15 MiB
// with a 512-piece vocabulary, ~20 MiB with LLaMA-2's 32000, plus ~10–20 MiB once the GEMMs ran.
constexpr uint64_t kProcessBytes = uint64_t{36} << 20;

struct Sizes {
  uint64_t C, F, V, L, qdim, kvdim, D, Hq;
  explicit Sizes(const LlamaConfig& c)
      : C(c.hidden_size), F(c.intermediate_size), V(c.vocab_size), L(c.num_layers), qdim(c.num_heads * c.head_dim),
        kvdim(c.num_kv_heads * c.head_dim), D(c.head_dim), Hq(c.num_heads) {}
  uint64_t qkv_width() const { return qdim + 2 * kvdim; }
  uint64_t projection_params() const { return L * (qdim * C * 2 + kvdim * C * 2 + 3 * F * C); }
  uint64_t lm_head_params(bool tied) const { return tied ? 0 : V * C; }
  // Floats of one layer's activations per token (model/layer.h LayerActivations), without LoRA's t.
  uint64_t layer_floats_per_token() const { return 3 * C + 2 + qkv_width() + qdim + 3 * F; }
};

// Bytes of the copy GemmWeight makes of an [n]-element weight held as `source` (matmul.h): none
// when the GEMM reads it in place.
uint64_t gemm_copy_bytes(DType source, uint64_t n, Precision p) {
  const bool native = p == Precision::BF16 && native_bf16_gemm();
  const DType gemm_dtype = native ? DType::BF16 : DType::F32;
  const bool needs_rounding = p == Precision::BF16 && !native && source != DType::BF16;
  return source == gemm_dtype && !needs_rounding ? 0 : n * dtype_size(gemm_dtype);
}

// Weights the GEMMs cannot read in place (matmul.h GemmWeight): bytes of their converted copies.
uint64_t prepared_copy_bytes(const Sizes& s, DType weight_dtype, Precision p) {
  return gemm_copy_bytes(weight_dtype, s.projection_params() + s.V * s.C, p);  // + lm_head (or the tied embedding)
}

uint64_t stored_weight_bytes(const Sizes& s, bool tied, DType weight_dtype) {
  const uint64_t params = s.projection_params() + s.V * s.C + s.lm_head_params(tied) + (2 * s.L + 1) * s.C;
  return params * dtype_size(weight_dtype);
}

bool contains_any(const std::string& name, const std::vector<std::string>& parts) {
  return std::any_of(parts.begin(), parts.end(), [&](const std::string& p) { return name.find(p) != std::string::npos; });
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A projection the GEMMs run (model/linear.h Linear) as a training run sets it up
// (LlamaModel::make_trainable): trained through an f32 master, with or without a LoRA adapter.
struct PlannedLinear {
  uint64_t out = 0, in = 0;
  bool in_layer = true;  // false: lm_head, which runs on chunks of rows
  bool master = false;   // its weight trains (f32 master)
  bool lora = false;
  DType source = DType::F32;  // what its GemmWeight is prepared from
};

// Every weight of the model as make_trainable leaves it: the projections, and the elements of
// the f32 masters of trained weights (embedding, norms, projections; LoRA's A and B excluded).
struct TrainedModel {
  std::vector<PlannedLinear> linears;
  uint64_t master_elements = 0;
  uint64_t lora_elements = 0;
  uint64_t lora_rank_per_layer = 0;  // Σ r over one layer's adapters (LoRA's t activations)
  bool embed_trained = false;
};

TrainedModel trained_model(const LlamaConfig& c, DType weight_dtype, const TrainingShape& shape) {
  TrainedModel m;
  const bool lora = !shape.full && shape.lora_r > 0;
  auto wants = [&](const std::string& hf_name) { return shape.full || contains_any(hf_name, shape.trainable); };
  auto targeted = [&](const std::string& module) {
    return lora && std::any_of(shape.lora_targets.begin(), shape.lora_targets.end(),
                               [&](const std::string& t) { return ends_with(module, t); });
  };
  auto add_linear = [&](const std::string& module, uint64_t out, uint64_t in, bool master, DType source) {
    PlannedLinear p{out, in, module != "lm_head", master, targeted(module), master ? DType::F32 : source};
    if (p.master) m.master_elements += out * in;
    if (p.lora) {
      m.lora_elements += static_cast<uint64_t>(shape.lora_r) * (in + out);
      if (p.in_layer && module.rfind("model.layers.0.", 0) == 0) m.lora_rank_per_layer += static_cast<uint64_t>(shape.lora_r);
    }
    m.linears.push_back(p);
  };
  const std::string weight = ".weight";
  for (const ExpectedTensor& t : llama_expected_tensors(c)) {
    const uint64_t n = static_cast<uint64_t>(t.shape[0]) * (t.shape.size() > 1 ? static_cast<uint64_t>(t.shape[1]) : 1);
    if (t.name == "model.embed_tokens.weight") {
      m.embed_trained = wants(t.name);
      if (m.embed_trained) m.master_elements += n;
    } else if (t.shape.size() == 1) {  // a norm
      if (wants(t.name)) m.master_elements += n;
    } else {
      add_linear(t.name.substr(0, t.name.size() - weight.size()), static_cast<uint64_t>(t.shape[0]),
                 static_cast<uint64_t>(t.shape[1]), wants(t.name), weight_dtype);
    }
  }
  // Tied: lm_head is the embedding, prepared from its master when that trains.
  if (c.tie_word_embeddings)
    add_linear("lm_head", static_cast<uint64_t>(c.vocab_size), static_cast<uint64_t>(c.hidden_size), m.embed_trained,
               weight_dtype);
  return m;
}

// Bytes of the arena at its high-water mark in forward_backward (model/train_step.cpp), whose
// allocations this mirrors: the layer inputs and the head's buffers for the whole pass, the
// kept layers' activations, and the largest of the vocabulary head's chunk and one layer's
// recomputation + backward.
uint64_t arena_bytes(const Sizes& s, const TrainedModel& m, const TrainingShape& shape, int threads) {
  const uint64_t T = static_cast<uint64_t>(shape.context), R = static_cast<uint64_t>(shape.batch_size) * T;
  const uint64_t chunk = std::min<uint64_t>(R, static_cast<uint64_t>(kLogitChunkRows));
  const uint64_t attention = attention_scratch_bytes(static_cast<int64_t>(s.D), threads) / kF32;
  // LoRA's scratch inside linear_layer_forward / _backward: scale·t (and dt), and the inputs'
  // dropout-masked copies (x, then dt·A and its masked copy in the backward).
  uint64_t lora_forward = 0, lora_backward = 0, lm_head_lora = 0;
  for (const PlannedLinear& p : m.linears) {
    if (!p.lora) continue;
    const uint64_t rows = p.in_layer ? R : chunk, r = static_cast<uint64_t>(shape.lora_r);
    const uint64_t forward = rows * r + (shape.lora_dropout ? rows * p.in : 0);
    const uint64_t backward = 2 * rows * r + (shape.lora_dropout ? 3 * rows * p.in : 0);
    if (p.in_layer) {
      lora_forward = std::max(lora_forward, forward);
      lora_backward = std::max(lora_backward, backward);
    } else {
      lm_head_lora = chunk * r + std::max(forward, backward);
    }
  }
  // forward_backward: xs [(L+1)·R, C], hidden, d_hidden, dx, dx_below [R, C], rstd [R].
  const uint64_t pass = (s.L + 5) * R * s.C + R;
  const uint64_t kept_layer = R * (s.layer_floats_per_token() + m.lora_rank_per_layer) + shape.batch_size * s.Hq * T;
  const uint64_t layer_forward = std::max(attention, lora_forward);
  // layer_backward: d_x_mid, d_ln [R, C], d_act [R, F], d_gate_up [R, 2F], d_att, d_qkv.
  const uint64_t layer_backward = R * (2 * s.C + 3 * s.F + s.qdim + s.qkv_width()) + std::max(attention, lora_backward);
  const uint64_t head = chunk * s.V + lm_head_lora;
  uint64_t floats;
  if (shape.checkpointing) {
    // The last layer's activations stay from its forward to its backward; every other layer keeps
    // its attention output and log-sum-exp, and is recomputed (the rest of its activations, and
    // x_out when a LoRA on down_proj needs its t) under the backward's buffers.
    const uint64_t kept_attention = (s.L - 1) * (R * s.qdim + shape.batch_size * s.Hq * T);
    const uint64_t recompute = s.L > 1 ? R * s.C + layer_forward : 0;
    floats = pass + kept_attention + kept_layer + std::max({head, layer_forward, recompute + layer_backward});
  } else {
    floats = pass + s.L * kept_layer + std::max({head, layer_forward, layer_backward});
  }
  return floats * kF32;
}

// The GEMMs' converted activations at bf16 (matmul.cpp prepare_activation: one per-thread buffer
// per operand slot, grown to the largest operand): slot 0 holds x of a forward, dy of a backward;
// slot 1 x of a weight gradient (LoRA's A, or a trained weight).
uint64_t operand_bytes(const Sizes& s, const TrainedModel& m, const TrainingShape& shape, Precision p) {
  if (p != Precision::BF16) return 0;
  const uint64_t R = static_cast<uint64_t>(shape.batch_size * shape.context);
  const uint64_t chunk = std::min<uint64_t>(R, static_cast<uint64_t>(kLogitChunkRows));
  uint64_t slot0 = 0, slot1 = 0;
  for (const PlannedLinear& l : m.linears) {
    const uint64_t rows = l.in_layer ? R : chunk;
    slot0 = std::max(slot0, rows * std::max(l.in, l.out));
    if (l.master || l.lora) slot1 = std::max(slot1, rows * l.in);
  }
  return (slot0 + slot1) * (native_bf16_gemm() ? 2 : 4);
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

uint64_t training_arena_bytes(const LlamaConfig& config, const TrainingShape& shape, int threads) {
  return arena_bytes(Sizes(config), trained_model(config, DType::F32, shape), shape, threads);
}

MemoryPlan plan_training(const LlamaConfig& config, DType weight_dtype, Precision precision,
                         const TrainingShape& shape, int threads) {
  const Sizes s(config);
  const TrainedModel m = trained_model(config, weight_dtype, shape);
  uint64_t gemm_copies = 0;
  for (const PlannedLinear& l : m.linears) {
    gemm_copies += gemm_copy_bytes(l.source, l.out * l.in, precision);
    if (l.lora) gemm_copies += gemm_copy_bytes(DType::F32, static_cast<uint64_t>(shape.lora_r) * (l.in + l.out), precision);
  }
  const uint64_t trained = m.master_elements + m.lora_elements;
  MemoryPlan plan;
  plan.parts.push_back({"process (code, libraries, tokenizer, oneDNN)", kProcessBytes});
  plan.parts.push_back({"weights (mapped)", stored_weight_bytes(s, config.tie_word_embeddings, weight_dtype)});
  plan.parts.push_back({"weights converted for the GEMMs", gemm_copies});
  plan.parts.push_back({"trained f32 masters, gradients, AdamW m and v", trained * 4 * kF32});
  plan.parts.push_back({"activations and gradients (arena)", arena_bytes(s, m, shape, threads)});
  plan.parts.push_back({"GEMM operands rounded to bf16", operand_bytes(s, m, shape, precision)});
  // --full ends by exporting the model (model/hf_export.cpp): the f32 masters converted back to
  // the stored dtype, all held until the files are written.
  if (shape.full && weight_dtype != DType::F32)
    plan.parts.push_back({"model export (masters in the stored dtype)",
                          stored_weight_bytes(s, config.tie_word_embeddings, weight_dtype)});
  return plan;
}

MemoryPlan plan_training(const LlamaConfig& config, DType weight_dtype, Precision precision, int64_t context,
                         int threads) {
  TrainingShape shape;
  shape.context = context;
  return plan_training(config, weight_dtype, precision, shape, threads);
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
