#include "model/gguf_export.h"

#include <vector>

#include "core/half.h"
#include "formats/gguf_writer.h"
#include "formats/llama_tensors.h"
#include "formats/rope_layout.h"

namespace ll {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Heads whose rows a projection's output interleaves in GGUF: q → heads, k → KV heads, else 0.
int64_t rope_heads(const std::string& module, const LlamaConfig& c) {
  if (ends_with(module, "q_proj")) return c.num_heads;
  if (ends_with(module, "k_proj")) return c.num_kv_heads;
  return 0;
}

// Owns the converted copies the writer's views point at until write().
class TensorSink {
 public:
  explicit TensorSink(GgufWriter& w) : writer_(w) {}
  // `t` (any float dtype) as `dtype`, rows permuted to GGUF order for `heads` > 0.
  void add(const std::string& name, const Tensor& t, DType dtype, int64_t heads) {
    OwnedTensor f32(DType::F32, t.shape, t.ndim);
    to_f32(f32.as<float>(), t.data, t.dtype, t.numel());
    if (heads > 0) f32 = rotate_half_to_interleaved(f32.view(), heads);
    if (dtype == DType::F32) {
      keep_.push_back(std::move(f32));
    } else {
      keep_.emplace_back(dtype, t.shape, t.ndim);
      from_f32(keep_.back().data(), dtype, f32.as<float>(), t.numel());
    }
    writer_.add_tensor(name, keep_.back().view());
  }

 private:
  GgufWriter& writer_;
  std::vector<OwnedTensor> keep_;
};

uint32_t file_type(DType dtype) {
  switch (dtype) {
    case DType::F32: return 0;
    case DType::F16: return 1;
    case DType::BF16: return 32;  // LLAMA_FTYPE_MOSTLY_BF16
    default: break;
  }
  fail_input("export", std::string("unsupported output dtype ") + dtype_name(dtype));
}

// What is written here is llama.cpp's "llama" architecture: no biases, linear RoPE scaling. Mistral,
// Qwen2, attention biases and Llama 3.1's llama3 scaling are out of scope: refused, never written wrong.
void check_gguf_exportable(const LlamaConfig& c, const std::string& path) {
  std::string what;
  if (c.family != ModelFamily::Llama) what = std::string("a ") + model_type_name(c.family) + " model";
  else if (c.qkv_bias || c.o_bias) what = "a LLaMA with attention biases (attention_bias)";
  else if (c.llama3) what = "a LLaMA with llama3 rope_scaling";
  if (!what.empty())
    fail_input(path, "GGUF export supports LLaMA models only (model_type \"llama\", no attention biases, linear "
                     "rope scaling); the base is " + what + ": use `longlora merge` for an HF directory");
}

}  // namespace

double write_gguf_lora_adapter(const std::string& path, const LlamaModel& model, DType dtype) {
  const LlamaConfig& c = model.config();
  check_gguf_exportable(c, path);
  const auto adapters = model.lora_adapters();
  if (adapters.empty()) fail_input(path, "nothing to export: the model has no LoRA adapter");
  // One alpha per file: every pair must have the same scale·rank.
  const double alpha = static_cast<double>(adapters[0]->scale) * static_cast<double>(adapters[0]->rank);
  for (const LoraAdapter* a : adapters)
    if (static_cast<double>(a->scale) * static_cast<double>(a->rank) != alpha)
      fail_input(path, "LoRA pairs with different scale·rank (" + a->module +
                           "): a llama.cpp adapter has one adapter.lora.alpha for all of them");
  GgufWriter w;
  w.add_string("general.architecture", "llama");
  w.add_string("general.type", "adapter");
  w.add_string("adapter.type", "lora");
  w.add_f32("adapter.lora.alpha", static_cast<float>(alpha));
  TensorSink sink(w);
  for (const LoraAdapter* a : adapters) {
    const std::string base = gguf_name_for(a->module + ".weight");
    OwnedTensor keep_A, keep_B;
    sink.add(base + ".lora_a", host_view(model.backend(), a->A.value, keep_A), dtype, 0);
    sink.add(base + ".lora_b", host_view(model.backend(), a->B.value, keep_B), dtype, rope_heads(a->module, c));
  }
  w.write(path);
  return alpha;
}

void write_gguf_model(const std::string& path, const LlamaModel& model, const Vocab& vocab, DType dtype,
                      const std::string& name) {
  const LlamaConfig& c = model.config();
  check_gguf_exportable(c, path);
  GgufWriter w;
  w.add_string("general.architecture", "llama");
  w.add_string("general.name", name);
  w.add_u32("general.file_type", file_type(dtype));
  w.add_u32("llama.vocab_size", static_cast<uint32_t>(c.vocab_size));
  w.add_u32("llama.context_length", static_cast<uint32_t>(c.max_position_embeddings));
  w.add_u32("llama.embedding_length", static_cast<uint32_t>(c.hidden_size));
  w.add_u32("llama.block_count", static_cast<uint32_t>(c.num_layers));
  w.add_u32("llama.feed_forward_length", static_cast<uint32_t>(c.intermediate_size));
  w.add_u32("llama.rope.dimension_count", static_cast<uint32_t>(c.head_dim));
  w.add_u32("llama.attention.head_count", static_cast<uint32_t>(c.num_heads));
  w.add_u32("llama.attention.head_count_kv", static_cast<uint32_t>(c.num_kv_heads));
  w.add_f32("llama.attention.layer_norm_rms_epsilon", c.rms_norm_eps);
  w.add_f32("llama.rope.freq_base", static_cast<float>(c.rope_theta));
  if (c.rope_factor != 1.0) {
    w.add_string("llama.rope.scaling.type", "linear");
    w.add_f32("llama.rope.scaling.factor", static_cast<float>(c.rope_factor));
  }

  // The tokenizer, padded to the model's vocabulary with control pieces.
  if (vocab.size() > c.vocab_size)
    fail_input(path, "the tokenizer has " + std::to_string(vocab.size()) + " pieces, more than the model's vocabulary of " +
                         std::to_string(c.vocab_size));
  std::vector<std::string> pieces = vocab.pieces;
  std::vector<float> scores = vocab.scores;
  std::vector<int32_t> types = vocab.types;
  for (int64_t id = vocab.size(); id < c.vocab_size; ++id) {
    pieces.push_back(id == vocab.size() ? "[PAD]" : "[PAD" + std::to_string(id - vocab.size()) + "]");
    scores.push_back(0.0f);
    types.push_back(static_cast<int32_t>(TokenType::Control));
  }
  w.add_string("tokenizer.ggml.model", "llama");
  w.add_string_array("tokenizer.ggml.tokens", pieces);
  w.add_f32_array("tokenizer.ggml.scores", scores);
  w.add_i32_array("tokenizer.ggml.token_type", types);
  if (vocab.bos >= 0) w.add_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(vocab.bos));
  if (vocab.eos >= 0) w.add_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(vocab.eos));
  if (vocab.unk >= 0) w.add_u32("tokenizer.ggml.unknown_token_id", static_cast<uint32_t>(vocab.unk));
  w.add_bool("tokenizer.ggml.add_space_prefix", vocab.add_dummy_prefix);
  w.add_bool("tokenizer.ggml.add_bos_token", true);
  w.add_bool("tokenizer.ggml.add_eos_token", false);

  TensorSink sink(w);
  for (const ExpectedTensor& e : llama_expected_tensors(c)) {
    OwnedTensor keep;
    const Tensor t = model.current_weight(e.name, keep);
    const bool is_norm = e.shape.size() == 1;
    const std::string module = e.name.substr(0, e.name.size() - std::string(".weight").size());
    sink.add(gguf_name_for(e.name), t, is_norm ? DType::F32 : dtype, rope_heads(module, c));
  }
  w.write(path);
}

}  // namespace ll
