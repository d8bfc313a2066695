#include "formats/gguf_llama.h"

#include "core/error.h"

namespace ll {

LlamaConfig config_from_gguf(const GgufFile& g) {
  const std::string& where = g.path();
  const std::string arch = g.get_string("general.architecture");
  if (arch != "llama")
    fail_input(where, "general.architecture: not a LLaMA model (expected \"llama\", found \"" + arch + "\")");

  LlamaConfig c;
  c.raw = {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"hidden_act", "silu"}};
  c.hidden_size = g.get_u32("llama.embedding_length");
  c.num_layers = g.get_u32("llama.block_count");
  c.intermediate_size = g.get_u32("llama.feed_forward_length");
  c.num_heads = g.get_u32("llama.attention.head_count");
  c.num_kv_heads = g.get_u32("llama.attention.head_count_kv", static_cast<uint32_t>(c.num_heads));
  if (g.has("llama.attention.key_length")) {
    c.head_dim = g.get_u32("llama.attention.key_length");
  } else {
    if (c.num_heads == 0 || c.hidden_size % c.num_heads != 0)
      fail_input(where, "llama.attention.head_count " + std::to_string(c.num_heads) +
                            " does not divide llama.embedding_length " + std::to_string(c.hidden_size));
    c.head_dim = c.hidden_size / c.num_heads;
  }
  const uint32_t rope_dims = g.get_u32("llama.rope.dimension_count", static_cast<uint32_t>(c.head_dim));
  if (rope_dims != c.head_dim)
    fail_expected(where, "metadata key 'llama.rope.dimension_count'",
                  std::to_string(c.head_dim) + " (RoPE over the whole head; partial rotary is not supported)",
                  std::to_string(rope_dims));
  c.max_position_embeddings = g.get_u32("llama.context_length");
  c.rms_norm_eps = g.get_f32("llama.attention.layer_norm_rms_epsilon");
  c.rope_theta = g.get_f32("llama.rope.freq_base", 10000.0f);

  const std::string scaling = g.get_string("llama.rope.scaling.type", "none");
  if (scaling == "linear") {
    c.rope_factor = g.get_f32("llama.rope.scaling.factor");
  } else if (scaling == "none") {
    c.rope_factor = g.get_f32("llama.rope.scale_linear", 1.0f);
  } else {
    fail_expected(where, "metadata key 'llama.rope.scaling.type'", "\"linear\" or \"none\"",
                  "\"" + scaling + "\"");
  }
  if (c.rope_factor == 0) c.rope_factor = 1.0;  // llama.cpp writes 0 for "no scaling"
  // Llama 3.1's frequency-dependent scaling travels as per-frequency divisors in rope_freqs.
  if (g.has_tensor("rope_freqs.weight"))
    fail_input(where, "tensor 'rope_freqs.weight': per-frequency RoPE scaling (Llama 3.1's llama3 rope_scaling) "
                      "is not supported in GGUF files; use the model's HF directory");

  if (g.has("tokenizer.ggml.tokens"))
    c.vocab_size = static_cast<int64_t>(g.array_length("tokenizer.ggml.tokens"));
  else
    c.vocab_size = g.get_u32("llama.vocab_size");
  c.bos_token_id = g.get_u32("tokenizer.ggml.bos_token_id", 1);
  c.eos_token_id = g.get_u32("tokenizer.ggml.eos_token_id", 2);
  c.tie_word_embeddings = !g.has_tensor("output.weight");
  const TensorEntry* q = g.find_tensor("blk.0.attn_q.weight");
  c.torch_dtype = q && q->supported ? q->dtype : DType::F32;
  validate_llama_config(c, where);
  return c;
}

}  // namespace ll
