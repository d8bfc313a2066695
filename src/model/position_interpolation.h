// Position interpolation (Chen et al. 2023) as LongLoRA's fine-tune.py applies it, and how it composes
// with a checkpoint's own RoPE scaling (linear, or Llama 3.1's llama3).
#pragma once
#include <cstdint>

#include "formats/llama_config.h"
#include "kernels/rope.h"

namespace ll {

// The context a checkpoint's RoPE is made for (LongLoRA's orig_ctx_len):
//   max_position_embeddings · (the config's linear factor, or 1);
//   a llama3-scaled model: max_position_embeddings (its config already names the scaled context).
double model_context(const LlamaConfig& config);

// The RoPE factor for running `config` at `target_context` tokens:
//   target ≤ model_context → the config's factor unchanged; otherwise k = ceil(target / model_context),
//   and the factor is k (linear, as LongLoRA: LLaMA-2 4k: 8k → 2, 32k → 8, 100k → 25) or, for a
//   llama3-scaled model, the llama3 factor times k (8 → 16 for 2× Llama 3.1's 131072).
// target_context ≤ 0 keeps the config's factor.
double interpolation_factor(const LlamaConfig& config, int64_t target_context);

// `config` running at RoPE factor `factor` (from interpolation_factor or --rope-factor). A llama3-scaled
// model's max_position_embeddings grows with its factor (× factor / the checkpoint's factor), so that the
// config written back describes the scaled context and is not scaled again when reloaded.
void set_rope_factor(LlamaConfig& config, double factor);

// The RoPE table of `config` (theta, head_dim, rope_factor, llama3) for positions [0, n_positions), in
// `memory` (the model's backend).
RopeTable rope_table_for(const LlamaConfig& config, int64_t n_positions, MemoryResource& memory = host_memory());

}  // namespace ll
