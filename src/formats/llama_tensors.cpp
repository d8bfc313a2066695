#include "formats/llama_tensors.h"

#include <utility>

#include "core/error.h"

namespace ll {
namespace {

struct NamePair {
  const char* hf;
  const char* gguf;
};

constexpr NamePair kGlobalNames[] = {
    {"model.embed_tokens.weight", "token_embd.weight"},
    {"model.norm.weight", "output_norm.weight"},
    {"lm_head.weight", "output.weight"},
};

// Names inside a layer: "model.layers.N." + hf  <->  "blk.N." + gguf.
constexpr NamePair kLayerNames[] = {
    {"input_layernorm.weight", "attn_norm.weight"},    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.k_proj.weight", "attn_k.weight"},      {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.o_proj.weight", "attn_output.weight"}, {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},       {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
};

// Splits "<prefix><layer>.<rest>" into layer number and rest; the number is canonical decimal.
std::optional<std::pair<std::string, std::string>> split_layer(const std::string& name,
                                                               const std::string& prefix) {
  if (name.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  const size_t dot = name.find('.', prefix.size());
  if (dot == std::string::npos) return std::nullopt;
  const std::string layer = name.substr(prefix.size(), dot - prefix.size());
  if (layer.empty() || layer.size() > 9 || (layer.size() > 1 && layer[0] == '0')) return std::nullopt;
  for (char ch : layer)
    if (ch < '0' || ch > '9') return std::nullopt;
  return std::pair{layer, name.substr(dot + 1)};
}

}  // namespace

std::vector<ExpectedTensor> llama_expected_tensors(const LlamaConfig& c) {
  const int64_t C = c.hidden_size, F = c.intermediate_size, V = c.vocab_size;
  const int64_t q_rows = c.q_dim(), kv_rows = c.kv_dim();
  std::vector<ExpectedTensor> out;
  out.push_back({"model.embed_tokens.weight", {V, C}});
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    out.push_back({p + "input_layernorm.weight", {C}});
    out.push_back({p + "self_attn.q_proj.weight", {q_rows, C}});
    if (c.qkv_bias) out.push_back({p + "self_attn.q_proj.bias", {q_rows}});
    out.push_back({p + "self_attn.k_proj.weight", {kv_rows, C}});
    if (c.qkv_bias) out.push_back({p + "self_attn.k_proj.bias", {kv_rows}});
    out.push_back({p + "self_attn.v_proj.weight", {kv_rows, C}});
    if (c.qkv_bias) out.push_back({p + "self_attn.v_proj.bias", {kv_rows}});
    out.push_back({p + "self_attn.o_proj.weight", {C, q_rows}});
    if (c.o_bias) out.push_back({p + "self_attn.o_proj.bias", {C}});
    out.push_back({p + "post_attention_layernorm.weight", {C}});
    out.push_back({p + "mlp.gate_proj.weight", {F, C}});
    out.push_back({p + "mlp.up_proj.weight", {F, C}});
    out.push_back({p + "mlp.down_proj.weight", {C, F}});
  }
  out.push_back({"model.norm.weight", {C}});
  if (!c.tie_word_embeddings) out.push_back({"lm_head.weight", {V, C}});
  return out;
}

std::optional<std::string> find_gguf_name(const std::string& hf_name) {
  for (const auto& n : kGlobalNames)
    if (hf_name == n.hf) return std::string(n.gguf);
  if (const auto split = split_layer(hf_name, "model.layers."))
    for (const auto& n : kLayerNames)
      if (split->second == n.hf) return "blk." + split->first + "." + n.gguf;
  return std::nullopt;
}

std::string gguf_name_for(const std::string& hf_name) {
  const auto name = find_gguf_name(hf_name);
  if (!name) fail_input("", "tensor '" + hf_name + "' has no GGUF name (not a LLaMA weight)");
  return *name;
}

std::optional<std::string> hf_name_for_gguf(const std::string& gguf_name) {
  for (const auto& n : kGlobalNames)
    if (gguf_name == n.gguf) return std::string(n.hf);
  if (const auto split = split_layer(gguf_name, "blk."))
    for (const auto& n : kLayerNames)
      if (split->second == n.gguf) return "model.layers." + split->first + "." + n.hf;
  return std::nullopt;
}

}  // namespace ll
