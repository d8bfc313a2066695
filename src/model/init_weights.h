// A freshly initialised LLaMA written as an HF directory, the starting point for pre-training
// from scratch (the demo's base model) and for benchmarks on models of any size. Initialisation
// as transformers' LlamaPreTrainedModel._init_weights: every linear and the embedding
// ~ N(0, initializer_range = 0.02), norms = 1.
#pragma once
#include <cstdint>
#include <string>

#include "formats/llama_config.h"

namespace ll {

// Writes dir/config.json and dir/model.safetensors (weights of dtype `dtype`, drawn from `seed`),
// and copies `tokenizer_model` to dir/tokenizer.model when given. Creates dir if needed.
void write_initialized_llama(const std::string& dir, const LlamaConfig& config, uint64_t seed, DType dtype,
                             const std::string& tokenizer_model = "", double initializer_range = 0.02);

}  // namespace ll
