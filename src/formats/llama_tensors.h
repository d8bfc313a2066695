// The weights of a LLaMA under their HF names, their shapes, and their GGUF (llama.cpp) names.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "formats/llama_config.h"

namespace ll {

struct ExpectedTensor {
  std::string name;            // HF name
  std::vector<int64_t> shape;  // row-major, [out, in] for projections
};

// Every weight a LLaMA with this config needs: model.embed_tokens.weight [V, C]; per layer N
// model.layers.N.{input_layernorm [C], self_attn.q_proj [H*D, C], k_proj/v_proj [KV*D, C],
// o_proj [C, H*D], post_attention_layernorm [C], mlp.gate_proj/up_proj [F, C], down_proj [C, F]}
// (.weight), with q/k/v_proj.bias [rows] when qkv_bias and o_proj.bias [C] when o_bias;
// model.norm.weight [C]; lm_head.weight [V, C] unless tie_word_embeddings.
std::vector<ExpectedTensor> llama_expected_tensors(const LlamaConfig& config);

// HF name -> GGUF name ("model.layers.3.self_attn.q_proj.weight" -> "blk.3.attn_q.weight");
// InputError for names with no GGUF counterpart.
std::string gguf_name_for(const std::string& hf_name);
// The same, nullopt for names with no GGUF counterpart.
std::optional<std::string> find_gguf_name(const std::string& hf_name);
// GGUF name -> HF name; nullopt for names outside the LLaMA weight set (e.g. rope_freqs.weight).
std::optional<std::string> hf_name_for_gguf(const std::string& gguf_name);

}  // namespace ll
