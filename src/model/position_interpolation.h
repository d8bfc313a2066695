// Linear position interpolation (Chen et al. 2023), as LongLoRA's fine-tune.py applies it.
#pragma once
#include <cstdint>

#include "formats/llama_config.h"

namespace ll {

// The RoPE factor for running `config` at `target_context` tokens:
//   orig = max_position_embeddings · (the config's linear factor, or 1);
//   target ≤ orig → the config's factor unchanged; otherwise factor = ceil(target / orig)
// (LLaMA-2 4k: 8k → 2, 32k → 8, 100k → 25). target_context ≤ 0 keeps the config's factor.
double interpolation_factor(const LlamaConfig& config, int64_t target_context);

}  // namespace ll
