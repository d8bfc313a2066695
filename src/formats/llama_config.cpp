#include "formats/llama_config.h"

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

void check_model_type(const json& j, const std::string& where) {
  if (j.contains("model_type")) {
    if (j["model_type"] != "llama")
      fail_input(where,
                 "model_type: not a LLaMA model (expected \"llama\", found " + j["model_type"].dump() + ")");
    return;
  }
  if (j.contains("architectures") && j["architectures"].is_array())
    for (const auto& a : j["architectures"])
      if (a == "LlamaForCausalLM") return;
  fail_input(where,
             "not a LLaMA model (no model_type \"llama\" and no \"LlamaForCausalLM\" in architectures)");
}

double parse_rope_factor(const json& j, const std::string& where) {
  if (!present(j, "rope_scaling")) return 1.0;
  const json& rs = j["rope_scaling"];
  if (!rs.is_object()) fail_expected(where, "rope_scaling", "null or an object", rs.dump());
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
  if (type == "default") return 1.0;  // transformers' name for unscaled RoPE
  if (type != "linear")
    fail_expected(where, "rope_scaling.type", "\"linear\" (position interpolation) or no scaling",
                  type.empty() ? "no type" : "\"" + type + "\"");
  if (!rs.contains("factor")) fail_input(where, "rope_scaling: missing field 'factor'");
  return positive_number_or(rs, "factor", where + ": rope_scaling", 1.0);
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

LlamaConfig parse_hf_config(const std::string& path) {
  return parse_hf_config_json(read_json_file(path), path);
}

LlamaConfig parse_hf_config_json(const json& j, const std::string& where) {
  if (!j.is_object()) fail_expected(where, "config", "a JSON object", j.type_name());
  check_model_type(j, where);
  LlamaConfig c;
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
  c.max_position_embeddings = positive_int_or(j, "max_position_embeddings", where, 2048);
  c.rms_norm_eps = static_cast<float>(positive_number_or(j, "rms_norm_eps", where, 1e-6));
  c.rope_theta = positive_number_or(j, "rope_theta", where, 10000.0);
  c.rope_factor = parse_rope_factor(j, where);
  if (present(j, "tie_word_embeddings")) {
    if (!j["tie_word_embeddings"].is_boolean())
      fail_expected(where, "tie_word_embeddings", "true or false", j["tie_word_embeddings"].dump());
    c.tie_word_embeddings = j["tie_word_embeddings"].get<bool>();
  }
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
}

json to_hf_config_json(const LlamaConfig& c) {
  json j = c.raw.is_object() ? c.raw : json::object();
  if (!j.contains("architectures")) j["architectures"] = {"LlamaForCausalLM"};
  j["model_type"] = "llama";
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
  if (c.rope_factor != 1.0)
    j["rope_scaling"] = {{"type", "linear"}, {"rope_type", "linear"}, {"factor", c.rope_factor}};
  else
    j["rope_scaling"] = nullptr;
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
