// How much memory running a model at a context needs, by component, before anything is
// allocated: `longlora info --context N` prints it and `longlora train` compares it with the
// memory the machine has before it loads the weights (train/memory_check.h).
//
// The training plan predicts the peak resident set (VmHWM) of `longlora train`; test_reliability
// (MemoryPlanCases.*) holds it within 10% of the measured peak on three configurations.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "formats/llama_config.h"
#include "kernels/matmul.h"

namespace ll {

struct MemoryPlan {
  std::vector<std::pair<std::string, uint64_t>> parts;  // (what, bytes)
  uint64_t total() const;
};

// Inference (generation, eval, passkey) of one sequence of `context` tokens: the weights as
// stored (mapped), converted copies the GEMMs need at `precision`, the KV cache, one prefill
// chunk's activations and the attention scratch.
MemoryPlan plan_inference(const LlamaConfig& config, DType weight_dtype, Precision precision, int64_t context,
                          int threads);

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
};

// The peak resident memory of training `shape` (model/train_step.h forward_backward driven by
// train/trainer.h): the weights as stored (mapped), the copies the GEMMs read, the f32 masters of
// trainable tensors with their gradients and AdamW moments, the arena at its high-water mark,
// the GEMMs' converted operands, the exported model's converted copy (--full), and the process
// itself (code, libraries, tokenizer, oneDNN and OpenMP buffers).
MemoryPlan plan_training(const LlamaConfig& config, DType weight_dtype, Precision precision,
                         const TrainingShape& shape, int threads);
// The same for LongLoRA's defaults (LoRA r=8 on q/k/v/o, embed/norm trained, batch 1,
// checkpointing) at `context`.
MemoryPlan plan_training(const LlamaConfig& config, DType weight_dtype, Precision precision, int64_t context,
                         int threads);

// Bytes of the training arena at its high-water mark: what forward_backward allocates from it.
// The trainer reserves this much up front, so the arena is one block.
uint64_t training_arena_bytes(const LlamaConfig& config, const TrainingShape& shape, int threads);

std::string format_bytes(uint64_t bytes);  // "1.23 GiB"

}  // namespace ll
