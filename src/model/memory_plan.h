// How much memory running a model at a context needs, by component, before anything is
// allocated: `longlora info --context N` prints it and `longlora train` compares it with the
// memory the machine has before it loads the weights (train/memory_check.h).
//
// The plan is a dry run of the real allocation path, not a model of it: the model is built from the
// config's shapes (ModelFiles::shapes_only) on a measuring backend (backend/backend.h), made
// trainable, and one training pass (or the prefill of a prompt) runs on it — every allocation the
// run would make is made and counted, no memory is touched and no op computes. Only the weights'
// mapped pages, the process itself and the --full export's copy are added by rule.
//
// The training plan predicts the peak resident set (VmHWM) of `longlora train`; test_reliability
// (MemoryPlanCases.*) holds it within 10% of the measured peak on three configurations.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/dtype.h"
#include "core/precision.h"
#include "formats/llama_config.h"

namespace ll {

struct MemoryPlan {
  std::vector<std::pair<std::string, uint64_t>> parts;  // (what, bytes)
  uint64_t total() const;
};

// Inference (generation, eval, passkey) of one sequence of `context` tokens on `threads` threads:
// the weights as stored (mapped), the converted copies the GEMMs read, the KV cache in `kv_cache`
// (f32, bf16 or f16: model/kv_cache.h), and the activation arena of the prompt's prefill in chunks.
MemoryPlan plan_inference(const LlamaConfig& config, DType weight_dtype, Precision precision, int64_t context,
                          int threads, DType kv_cache);

// What a training run trains and how: the options of `longlora train` that change its memory.
struct TrainingShape {
  int64_t context = 0;     // T: tokens per row
  int64_t batch_size = 1;  // B: rows per micro-batch
  bool full = false;       // every weight trains (f32 masters), no LoRA
  int64_t lora_r = 8;
  std::vector<std::string> lora_targets = {"q_proj", "k_proj", "v_proj", "o_proj"};
  std::vector<std::string> trainable = {"embed", "norm"};  // HF-name substrings trained in full
  bool lora_dropout = false;  // dropout > 0 keeps masked copies of the LoRA inputs
  bool checkpointing = true;  // layer inputs and attention outputs kept; layers recomputed in the backward
  bool keep_attention = true; // with checkpointing: false keeps the layer inputs only
};

// The peak resident memory of training `shape` (model/train_step.h forward_backward driven by
// train/trainer.h) on `threads` threads: the process itself, the weights as stored (mapped), the
// copies the GEMMs read, the trainable store (f32 masters, gradients, AdamW moments), the activation
// arena at its high-water mark (GEMM operands converted to bf16 included), other backend buffers
// (f32 norms, the RoPE table), and with --full the exported model's copy in the stored dtype.
MemoryPlan plan_training(const LlamaConfig& config, DType weight_dtype, Precision precision,
                         const TrainingShape& shape, int threads);
// The same for LongLoRA's defaults (LoRA r=8 on q/k/v/o, embed/norm trained, batch 1,
// checkpointing) at `context`.
MemoryPlan plan_training(const LlamaConfig& config, DType weight_dtype, Precision precision, int64_t context,
                         int threads);

// Bytes of the training arena at its high-water mark (the plan's arena part): the trainer reserves
// this much up front, so the arena is one block. The weights' dtype counts: the GEMMs widen 16-bit
// weights in scratch panels.
uint64_t training_arena_bytes(const LlamaConfig& config, DType weight_dtype, Precision precision,
                              const TrainingShape& shape, int threads);

// The largest context, a multiple of `step` tokens no larger than `limit`, whose plan `need(context)`
// (bytes) is at most `memory`, found by doubling then bisecting — the plans grow with the context.
// 0 when not even `step` tokens fit. What `longlora info --memory` answers, for training and inference.
int64_t largest_context(uint64_t memory, const std::function<uint64_t(int64_t)>& need, int64_t step = 256,
                        int64_t limit = int64_t{1} << 21);

std::string format_bytes(uint64_t bytes);  // "1.23 GiB"
// "24GiB", "24G" (binary: K, M, G, T with or without "iB"), "25.7GB" (decimal: kB, MB, GB, TB), "4096"
// or "4096B" (bytes); nullopt for anything else.
std::optional<uint64_t> parse_byte_size(const std::string& text);

}  // namespace ll
