// The architecture of a LLaMA-family model, read from an HF config.json (or a GGUF, see
// gguf_llama.h) and written back into config.json for merged models.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/dtype.h"

namespace ll {

struct LlamaConfig {
  int64_t hidden_size = 0;        // C
  int64_t intermediate_size = 0;  // FFN width
  int64_t num_layers = 0;
  int64_t num_heads = 0;     // H (query heads)
  int64_t num_kv_heads = 0;  // key/value heads (GQA); = num_heads without GQA
  int64_t head_dim = 0;      // D; hidden_size / num_heads unless the config gives it
  int64_t vocab_size = 0;
  int64_t max_position_embeddings = 2048;
  float rms_norm_eps = 1e-6f;
  double rope_theta = 10000.0;
  double rope_factor = 1.0;  // linear position-interpolation factor (rope_scaling); 1 = none
  bool tie_word_embeddings = false;
  int64_t bos_token_id = 1;
  int64_t eos_token_id = 2;
  DType torch_dtype = DType::F32;                 // what the checkpoint declares
  nlohmann::json raw = nlohmann::json::object();  // the original config, for writing it back
};

// Reads an HF config.json. Accepts model_type "llama" (or, without model_type, architectures
// containing "LlamaForCausalLM"); rope_scaling must be absent, null or linear. Every problem
// throws InputError naming the file and the field.
LlamaConfig parse_hf_config(const std::string& path);
// The same from an already parsed object; `where` names its source in errors.
LlamaConfig parse_hf_config_json(const nlohmann::json& json, const std::string& where);

// Positive sizes, heads dividing hidden_size (when head_dim is derived), even head_dim, kv heads
// dividing heads, bos/eos within the vocabulary, positive eps/theta/factor. `where` names the
// source in the InputError.
void validate_llama_config(const LlamaConfig& config, const std::string& where);

// `raw` updated with the current fields: rope_scaling becomes {"type": "linear", "rope_type":
// "linear", "factor": f} when rope_factor != 1 (null otherwise), so that transformers applies the
// interpolation the model was tuned with.
nlohmann::json to_hf_config_json(const LlamaConfig& config);

}  // namespace ll
