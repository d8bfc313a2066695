// The model as it now is (trained, replaced or merged weights) written as an HF model directory
// that transformers and longlora load: config.json (with the linear rope scaling in use),
// model.safetensors (sharded with an index above `max_shard_bytes`), and the tokenizer.
#pragma once
#include <cstdint>
#include <string>

#include "model/llama_model.h"

namespace ll {

struct HfExportOptions {
  DType dtype = DType::F32;                      // weights' dtype (norms included, as HF stores them)
  uint64_t max_shard_bytes = 5'000'000'000ull;   // transformers' "5GB"
  // tokenizer.model to copy; "" = none. (A GGUF base has none: its vocabulary is serialised.)
  std::string tokenizer_model;
  std::string serialized_tokenizer;              // written as tokenizer.model when non-empty
};

// Written atomically: `dir` is complete or absent.
void write_hf_model_dir(const std::string& dir, const LlamaModel& model, const HfExportOptions& options);

}  // namespace ll
