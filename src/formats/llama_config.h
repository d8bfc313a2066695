// The architecture of a LLaMA-family model, read from an HF config.json (or a GGUF, see
// gguf_llama.h) and written back into config.json for merged models.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/dtype.h"

namespace ll {

// The families longlora runs: LLaMA's decoder block, told apart by config.json's model_type. What
// differs lives in LlamaConfig's fields (q/k/v biases, sliding window, RoPE scaling, defaults).
enum class ModelFamily { Llama, Mistral, Qwen2 };
const char* model_type_name(ModelFamily family);    // "llama", "mistral", "qwen2"
const char* architecture_name(ModelFamily family);  // "LlamaForCausalLM", "MistralForCausalLM", ...

// Llama 3.1's frequency-dependent RoPE scaling, rope_scaling {"rope_type": "llama3", "factor",
// "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"}: wavelengths above
// original / low_freq_factor are divided by the factor, those below original / high_freq_factor kept,
// those between interpolated (kernels/rope.h, llama3_inv_freq). Its factor is LlamaConfig::rope_factor.
struct Llama3RopeScaling {
  double low_freq_factor = 1;
  double high_freq_factor = 4;
  int64_t original_max_position_embeddings = 8192;
};

struct LlamaConfig {
  ModelFamily family = ModelFamily::Llama;
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
  // RoPE scaling factor: linear position interpolation (rope_scaling "linear"), or llama3's factor
  // when `llama3` is set; 1 = none.
  double rope_factor = 1.0;
  std::optional<Llama3RopeScaling> llama3;
  bool qkv_bias = false;  // q/k/v projections carry a bias (Qwen2; LLaMA's attention_bias)
  bool o_bias = false;    // o_proj carries a bias (LLaMA's attention_bias)
  // Sliding-window attention: a query sees only the last `sliding_window` positions, itself included
  // (Mistral's sliding_window; Qwen2's when use_sliding_window); 0 = no window. longlora does not
  // implement the window: model/sliding_window.h refuses what would attend past it.
  int64_t sliding_window = 0;
  bool tie_word_embeddings = false;
  int64_t bos_token_id = 1;
  int64_t eos_token_id = 2;
  DType torch_dtype = DType::F32;                 // what the checkpoint declares
  nlohmann::json raw = nlohmann::json::object();  // the original config, for writing it back

  // Derived sizes, defined here only.
  int64_t q_dim() const { return num_heads * head_dim; }      // rows of q_proj, columns of o_proj
  int64_t kv_dim() const { return num_kv_heads * head_dim; }  // rows of k_proj and v_proj
};

// Reads an HF config.json. Accepts model_type "llama", "mistral" or "qwen2" (or, without model_type,
// architectures naming LlamaForCausalLM, MistralForCausalLM or Qwen2ForCausalLM); rope_scaling must be
// absent, null, linear or llama3; hidden_act silu; no mlp_bias. Fields a family does not set take
// transformers' defaults for it. Every problem throws InputError naming the file and the field.
LlamaConfig parse_hf_config(const std::string& path);
// The same from an already parsed object; `where` names its source in errors.
LlamaConfig parse_hf_config_json(const nlohmann::json& json, const std::string& where);

// Positive sizes, heads dividing hidden_size (when head_dim is derived), even head_dim, kv heads
// dividing heads, bos/eos within the vocabulary, positive eps/theta/factor. `where` names the
// source in the InputError.
void validate_llama_config(const LlamaConfig& config, const std::string& where);

// `raw` updated with the current fields, model_type and architectures those of the family:
// rope_scaling becomes {"type": "linear", "rope_type": "linear", "factor": f} when rope_factor != 1
// (null otherwise), or llama3's object with the factor in use, so that transformers applies the
// scaling the model was tuned with.
nlohmann::json to_hf_config_json(const LlamaConfig& config);

}  // namespace ll
