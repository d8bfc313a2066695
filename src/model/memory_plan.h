// How much memory running a model at a context needs, by component, before anything is
// allocated: `longlora info --context N` prints it and long commands check it up front.
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

// LongLoRA training of batch 1 × `context` tokens with its defaults: LoRA r=8 on q/k/v/o,
// trainable embeddings and norms (f32 master, gradient, AdamW m and v), gradient checkpointing
// (layer inputs kept, one layer recomputed at a time), chunked cross-entropy.
MemoryPlan plan_training(const LlamaConfig& config, DType weight_dtype, Precision precision, int64_t context,
                         int threads);

std::string format_bytes(uint64_t bytes);  // "1.23 GiB"

}  // namespace ll
