#include "formats/llama_config.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "formats/json_file.h"

namespace ll {
namespace {

using json = nlohmann::json;

constexpr int64_t kMaxSize = std::numeric_limits<int32_t>::max();

bool present(const json& j, const char* key) { return j.contains(key) && !j[key].is_null(); }

// A positive integer field (at most 2^31 - 1, so products of sizes cannot overflow).
int64_t positive_int(const json& j, const char* key, const std::string& where) {
  if (!present(j, key)) fail_input(where, std::string("missing field '") + key + "'");
  const json& v = j[key];
  if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > kMaxSize)
    fail_expected(where, key, "a positive integer", v.dump());
  return v.get<int64_t>();
}

int64_t positive_int_or(const json& j, const char* key, const std::string& where, int64_t fallback) {
  return present(j, key) ? positive_int(j, key, where) : fallback;
}

double positive_number_or(const json& j, const char* key, const std::string& where, double fallback) {
  if (!present(j, key)) return fallback;
  const json& v = j[key];
  if (!v.is_number() || !(v.get<double>() > 0) || !std::isfinite(v.get<double>()))
    fail_expected(where, key, "a positive number", v.dump());
  return v.get<double>();
}

// A token id, or a list of them (the first is used, as for eos lists in newer configs).
int64_t token_id_or(const json& j, const char* key, const std::string& where, int64_t fallback) {
  if (!present(j, key)) return fallback;
  const json& v = j[key];
  const json& first = v.is_array() && !v.empty() ? v[0] : v;
  if (!first.is_number_integer() || first.get<int64_t>() < 0)
    fail_expected(where, key, "a non-negative token id (or a list of them)", v.dump());
  return first.get<int64_t>();
}

struct FamilyNames {
  ModelFamily family;
  const char* model_type;
  const char* architecture;
  int64_t default_max_positions;  // transformers' default when config.json leaves it out
};

constexpr FamilyNames kFamilies[] = {
    {ModelFamily::Llama, "llama", "LlamaForCausalLM", 2048},
    {ModelFamily::Mistral, "mistral", "MistralForCausalLM", 4096 * 32},
    {ModelFamily::Qwen2, "qwen2", "Qwen2ForCausalLM", 32768},
};

const FamilyNames& names_of(ModelFamily family) {
  for (const auto& f : kFamilies)
    if (f.family == family) return f;
  fail_internal(__FILE__, __LINE__, "a ModelFamily without names");
}

// model_type decides, as for transformers' AutoConfig; without it, an architecture we know.
ModelFamily parse_family(const json& j, const std::string& where) {
  if (j.contains("model_type")) {
    for (const auto& f : kFamilies)
      if (j["model_type"] == f.model_type) return f.family;
    fail_input(where, "model_type: not a model longlora runs (expected \"llama\", \"mistral\" or \"qwen2\", found " +
                          j["model_type"].dump() + ")");
  }
  if (j.contains("architectures") && j["architectures"].is_array())
    for (const auto& a : j["architectures"])
      for (const auto& f : kFamilies)
        if (a == f.architecture) return f.family;
  fail_input(where,
             "not a model longlora runs (no model_type \"llama\", \"mistral\" or \"qwen2\", and no "
             "LlamaForCausalLM, MistralForCausalLM or Qwen2ForCausalLM in architectures)");
}

bool bool_or(const json& j, const char* key, const std::string& where, bool fallback) {
  if (!present(j, key)) return fallback;
  if (!j[key].is_boolean()) fail_expected(where, key, "true or false", j[key].dump());
  return j[key].get<bool>();
}

// The rope_scaling type: "type" and "rope_type" (its newer name) must agree when both are given.
std::string rope_scaling_type(const json& rs, const std::string& where) {
  std::string type;
  for (const char* key : {"type", "rope_type"}) {
    if (!rs.contains(key)) continue;
    if (!rs[key].is_string())
      fail_expected(where, std::string("rope_scaling.") + key, "a string", rs[key].dump());
    const std::string t = rs[key].get<std::string>();
    if (!type.empty() && t != type)
      fail_input(where, "rope_scaling: type \"" + type + "\" and rope_type \"" + t + "\" disagree");
    type = t;
  }
  return type;
}

// A required number of rope_scaling.
double rope_scaling_number(const json& rs, const char* key, const std::string& where) {
  if (!present(rs, key)) fail_input(where, std::string("rope_scaling: missing field '") + key + "'");
  const json& v = rs[key];
  if (!v.is_number() || !std::isfinite(v.get<double>()))
    fail_expected(where, std::string("rope_scaling.") + key, "a number", v.dump());
  return v.get<double>();
}

// rope_factor and llama3 from rope_scaling: absent, null or "default" (none), "linear" or "llama3"
// with the fields transformers' _compute_llama3_parameters reads.
void parse_rope_scaling(const json& j, const std::string& where, LlamaConfig& c) {
  c.rope_factor = 1.0;
  c.llama3.reset();
  if (!present(j, "rope_scaling")) return;
  const json& rs = j["rope_scaling"];
  if (!rs.is_object()) fail_expected(where, "rope_scaling", "null or an object", rs.dump());
  const std::string type = rope_scaling_type(rs, where);
  if (type == "default") return;  // transformers' name for unscaled RoPE
  if (type != "linear" && type != "llama3")
    fail_expected(where, "rope_scaling.rope_type", "\"linear\" (position interpolation), \"llama3\" or no scaling",
                  type.empty() ? "no type" : "\"" + type + "\"");
  if (!rs.contains("factor")) fail_input(where, "rope_scaling: missing field 'factor'");
  c.rope_factor = positive_number_or(rs, "factor", where + ": rope_scaling", 1.0);
  if (type == "linear") return;
  Llama3RopeScaling l3;
  l3.low_freq_factor = rope_scaling_number(rs, "low_freq_factor", where);
  l3.high_freq_factor = rope_scaling_number(rs, "high_freq_factor", where);
  if (!(l3.low_freq_factor > 0))
    fail_expected(where, "rope_scaling.low_freq_factor", "a positive number", rs["low_freq_factor"].dump());
  if (!(l3.high_freq_factor > l3.low_freq_factor))
    fail_expected(where, "rope_scaling.high_freq_factor",
                  "a number above low_freq_factor " + rs["low_freq_factor"].dump() +
                      " (the band between them is interpolated)",
                  rs["high_freq_factor"].dump());
  if (!present(rs, "original_max_position_embeddings"))
    fail_input(where, "rope_scaling: missing field 'original_max_position_embeddings'");
  l3.original_max_position_embeddings = positive_int(rs, "original_max_position_embeddings", where + ": rope_scaling");
  c.llama3 = l3;
}

// What each family adds to LLaMA's block: biases and the sliding window.
void parse_family_fields(const json& j, const std::string& where, LlamaConfig& c) {
  if (c.family == ModelFamily::Qwen2) {
    c.qkv_bias = true;  // Qwen2's q/k/v projections always carry one; o_proj never
  } else if (c.family == ModelFamily::Llama) {
    c.qkv_bias = c.o_bias = bool_or(j, "attention_bias", where, false);
  }
  if (bool_or(j, "mlp_bias", where, false))
    fail_expected(where, "mlp_bias", "false (biases on gate/up/down_proj are not supported)", "true");
  if (present(j, "hidden_act") && j["hidden_act"] != "silu")
    fail_expected(where, "hidden_act", "\"silu\" (the SwiGLU feed-forward)", j["hidden_act"].dump());

  // Mistral: sliding_window (transformers' default 4096 when the field is left out; null = none).
  // Qwen2: sliding_window only when use_sliding_window (false in the released models).
  const char* key = "sliding_window";
  if (c.family == ModelFamily::Mistral) {
    if (!j.contains(key)) c.sliding_window = 4096;
    else if (!j[key].is_null()) c.sliding_window = positive_int(j, key, where);
  } else if (c.family == ModelFamily::Qwen2 && bool_or(j, "use_sliding_window", where, false) && present(j, key)) {
    c.sliding_window = positive_int(j, key, where);
  }
}

DType parse_torch_dtype(const json& j, const std::string& where) {
  for (const char* key : {"torch_dtype", "dtype"}) {
    if (!present(j, key)) continue;
    DType d;
    if (!j[key].is_string() || !parse_dtype(j[key].get<std::string>(), &d) || d == DType::I32)
      fail_expected(where, key, "\"float32\", \"float16\" or \"bfloat16\"", j[key].dump());
    return d;
  }
  return DType::F32;
}

const char* hf_dtype_name(DType d) {
  switch (d) {
    case DType::F16: return "float16";
    case DType::BF16: return "bfloat16";
    default: return "float32";
  }
}

}  // namespace

const char* model_type_name(ModelFamily family) { return names_of(family).model_type; }
const char* architecture_name(ModelFamily family) { return names_of(family).architecture; }

LlamaConfig parse_hf_config(const std::string& path) {
  return parse_hf_config_json(read_json_file(path), path);
}

LlamaConfig parse_hf_config_json(const json& j, const std::string& where) {
  if (!j.is_object()) fail_expected(where, "config", "a JSON object", j.type_name());
  LlamaConfig c;
  c.family = parse_family(j, where);
  c.raw = j;
  c.hidden_size = positive_int(j, "hidden_size", where);
  c.intermediate_size = positive_int(j, "intermediate_size", where);
  c.num_layers = positive_int(j, "num_hidden_layers", where);
  c.num_heads = positive_int(j, "num_attention_heads", where);
  c.num_kv_heads = positive_int_or(j, "num_key_value_heads", where, c.num_heads);
  c.vocab_size = positive_int(j, "vocab_size", where);
  if (present(j, "head_dim")) {
    c.head_dim = positive_int(j, "head_dim", where);
  } else {
    if (c.hidden_size % c.num_heads != 0)
      fail_input(where, "num_attention_heads " + std::to_string(c.num_heads) +
                            " does not divide hidden_size " + std::to_string(c.hidden_size));
    c.head_dim = c.hidden_size / c.num_heads;
  }
  c.max_position_embeddings =
      positive_int_or(j, "max_position_embeddings", where, names_of(c.family).default_max_positions);
  c.rms_norm_eps = static_cast<float>(positive_number_or(j, "rms_norm_eps", where, 1e-6));
  c.rope_theta = positive_number_or(j, "rope_theta", where, 10000.0);
  parse_rope_scaling(j, where, c);
  parse_family_fields(j, where, c);
  c.tie_word_embeddings = bool_or(j, "tie_word_embeddings", where, false);
  c.bos_token_id = token_id_or(j, "bos_token_id", where, 1);
  c.eos_token_id = token_id_or(j, "eos_token_id", where, 2);
  c.torch_dtype = parse_torch_dtype(j, where);
  validate_llama_config(c, where);
  return c;
}

void validate_llama_config(const LlamaConfig& c, const std::string& where) {
  const std::pair<const char*, int64_t> sizes[] = {{"hidden_size", c.hidden_size},
                                                   {"intermediate_size", c.intermediate_size},
                                                   {"num_hidden_layers", c.num_layers},
                                                   {"num_attention_heads", c.num_heads},
                                                   {"num_key_value_heads", c.num_kv_heads},
                                                   {"head_dim", c.head_dim},
                                                   {"vocab_size", c.vocab_size},
                                                   {"max_position_embeddings", c.max_position_embeddings}};
  for (const auto& [name, value] : sizes)
    if (value < 1 || value > kMaxSize)
      fail_expected(where, name, "a positive integer", std::to_string(value));
  if (c.head_dim % 2 != 0)
    fail_expected(where, "head_dim", "an even number (RoPE rotates pairs)", std::to_string(c.head_dim));
  if (c.num_heads % c.num_kv_heads != 0)
    fail_input(where, "num_key_value_heads " + std::to_string(c.num_kv_heads) +
                          " does not divide num_attention_heads " + std::to_string(c.num_heads));
  for (const auto& [name, id] :
       {std::pair{"bos_token_id", c.bos_token_id}, std::pair{"eos_token_id", c.eos_token_id}})
    if (id < 0 || id >= c.vocab_size)
      fail_expected(where, name, "a token id below vocab_size " + std::to_string(c.vocab_size),
                    std::to_string(id));
  if (!(c.rms_norm_eps > 0) || !std::isfinite(c.rms_norm_eps))
    fail_expected(where, "rms_norm_eps", "a positive number", std::to_string(c.rms_norm_eps));
  if (!(c.rope_theta > 0) || !std::isfinite(c.rope_theta))
    fail_expected(where, "rope_theta", "a positive number", std::to_string(c.rope_theta));
  if (!(c.rope_factor > 0) || !std::isfinite(c.rope_factor))
    fail_expected(where, "rope_scaling.factor", "a positive number", std::to_string(c.rope_factor));
  if (const auto& l3 = c.llama3; l3 && !(l3->low_freq_factor > 0 && l3->high_freq_factor > l3->low_freq_factor &&
                                        std::isfinite(l3->high_freq_factor) &&
                                        l3->original_max_position_embeddings > 0))
    fail_expected(where, "rope_scaling",
                  "llama3 with 0 < low_freq_factor < high_freq_factor and a positive original_max_position_embeddings",
                  "low " + std::to_string(l3->low_freq_factor) + ", high " + std::to_string(l3->high_freq_factor) +
                      ", original " + std::to_string(l3->original_max_position_embeddings));
  if (c.sliding_window < 0 || c.sliding_window > kMaxSize)
    fail_expected(where, "sliding_window", "a positive integer (or none)", std::to_string(c.sliding_window));
}

json to_hf_config_json(const LlamaConfig& c) {
  json j = c.raw.is_object() ? c.raw : json::object();
  const json& archs = present(j, "architectures") ? j["architectures"] : json::array();
  if (!archs.is_array() || std::find(archs.begin(), archs.end(), architecture_name(c.family)) == archs.end())
    j["architectures"] = {architecture_name(c.family)};
  j["model_type"] = model_type_name(c.family);
  if (!j.contains("hidden_act")) j["hidden_act"] = "silu";
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["num_hidden_layers"] = c.num_layers;
  j["num_attention_heads"] = c.num_heads;
  j["num_key_value_heads"] = c.num_kv_heads;
  if (present(j, "head_dim") || c.head_dim * c.num_heads != c.hidden_size) j["head_dim"] = c.head_dim;
  j["vocab_size"] = c.vocab_size;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["rms_norm_eps"] = static_cast<double>(c.rms_norm_eps);
  j["rope_theta"] = c.rope_theta;
  if (c.llama3)
    j["rope_scaling"] = {{"rope_type", "llama3"},
                         {"factor", c.rope_factor},
                         {"low_freq_factor", c.llama3->low_freq_factor},
                         {"high_freq_factor", c.llama3->high_freq_factor},
                         {"original_max_position_embeddings", c.llama3->original_max_position_embeddings}};
  else if (c.rope_factor != 1.0)
    j["rope_scaling"] = {{"type", "linear"}, {"rope_type", "linear"}, {"factor", c.rope_factor}};
  else
    j["rope_scaling"] = nullptr;
  switch (c.family) {  // the fields parse_family_fields reads
    case ModelFamily::Llama:
      LL_CHECK(c.qkv_bias == c.o_bias && c.sliding_window == 0);
      if (c.qkv_bias || j.contains("attention_bias")) j["attention_bias"] = c.qkv_bias;
      break;
    case ModelFamily::Mistral:
      LL_CHECK(!c.qkv_bias && !c.o_bias);
      j["sliding_window"] = c.sliding_window > 0 ? json(c.sliding_window) : json(nullptr);
      break;
    case ModelFamily::Qwen2:
      LL_CHECK(c.qkv_bias && !c.o_bias);
      j["use_sliding_window"] = c.sliding_window > 0;
      if (c.sliding_window > 0) j["sliding_window"] = c.sliding_window;
      break;
  }
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["bos_token_id"] = c.bos_token_id;
  // Keep an eos list (newer configs) when its first id is still ours.
  if (!(j.contains("eos_token_id") && j["eos_token_id"].is_array() && !j["eos_token_id"].empty() &&
        j["eos_token_id"][0] == c.eos_token_id))
    j["eos_token_id"] = c.eos_token_id;
  j["torch_dtype"] = hf_dtype_name(c.torch_dtype);
  if (j.contains("dtype")) j["dtype"] = hf_dtype_name(c.torch_dtype);
  return j;
}

}  // namespace ll
