// Text generation: the prompt runs through the model once (chunked prefill into the KV cache),
// then one token at a time is sampled and fed back until max_new_tokens or EOS.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "eval/sampler.h"
#include "model/llama_model.h"

namespace ll {

struct GenerateOptions {
  int64_t max_new_tokens = 256;
  SamplingOptions sampling;
  bool stop_at_eos = true;
  std::optional<DType> kv_cache;  // what the KV cache stores (model/kv_cache.h); unset: the default for the model
};

struct GenerateStats {
  int64_t prompt_tokens = 0, new_tokens = 0;
  double prompt_seconds = 0, generate_seconds = 0;
  bool stopped_at_eos = false;
};

// prompt: token ids (BOS included when wanted), at least one. on_token is called with every new
// token as soon as it is chosen (EOS included when it ends the run). Returns the new tokens.
std::vector<int32_t> generate(const LlamaModel& model, const std::vector<int32_t>& prompt,
                              const GenerateOptions& options, const std::function<void(int32_t)>& on_token,
                              GenerateStats* stats = nullptr);

}  // namespace ll
