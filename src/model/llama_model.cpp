#include "model/llama_model.h"

#include "core/half.h"
#include "model/position_interpolation.h"

namespace ll {

Precision default_precision(DType weight_dtype, bool training) {
  return (training || weight_dtype != DType::F32) ? Precision::BF16 : Precision::F32;
}

Precision parse_precision(const std::string& s) {
  if (s == "f32") return Precision::F32;
  if (s == "bf16") return Precision::BF16;
  fail_expected("--dtype", "value", "f32 or bf16", "'" + s + "'");
}

namespace {

// A [C] norm weight widened to f32 (norms are tiny; kernels take f32).
OwnedTensor norm_weight(const ModelCheckpoint& ckpt, const std::string& name, int64_t C) {
  const Tensor t = ckpt.tensor(name, {C});
  OwnedTensor w(DType::F32, {C});
  to_f32(w.as<float>(), t.data, t.dtype, C);
  return w;
}

}  // namespace

LlamaModel::LlamaModel(std::unique_ptr<ModelCheckpoint> checkpoint, const ModelOptions& options)
    : checkpoint_(std::move(checkpoint)), config_(checkpoint_->config()), precision_(options.precision) {
  const ModelCheckpoint& ck = *checkpoint_;
  validate_llama_checkpoint(ck);
  config_.rope_factor = options.rope_factor > 0 ? options.rope_factor : interpolation_factor(config_, options.context);

  const int64_t C = config_.hidden_size, F = config_.intermediate_size, V = config_.vocab_size;
  const int64_t qdim = config_.num_heads * config_.head_dim, kvdim = config_.num_kv_heads * config_.head_dim;
  embed = ck.tensor("model.embed_tokens.weight", {V, C});
  final_norm = norm_weight(ck, "model.norm.weight", C);
  lm_head = GemmWeight(config_.tie_word_embeddings ? embed : ck.tensor("lm_head.weight", {V, C}), precision_);
  layers.resize(static_cast<size_t>(config_.num_layers));
  for (int64_t l = 0; l < config_.num_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    LlamaLayerWeights& w = layers[static_cast<size_t>(l)];
    w.attn_norm = norm_weight(ck, p + "input_layernorm.weight", C);
    w.ffn_norm = norm_weight(ck, p + "post_attention_layernorm.weight", C);
    w.q = GemmWeight(ck.tensor(p + "self_attn.q_proj.weight", {qdim, C}), precision_);
    w.k = GemmWeight(ck.tensor(p + "self_attn.k_proj.weight", {kvdim, C}), precision_);
    w.v = GemmWeight(ck.tensor(p + "self_attn.v_proj.weight", {kvdim, C}), precision_);
    w.o = GemmWeight(ck.tensor(p + "self_attn.o_proj.weight", {C, qdim}), precision_);
    w.gate = GemmWeight(ck.tensor(p + "mlp.gate_proj.weight", {F, C}), precision_);
    w.up = GemmWeight(ck.tensor(p + "mlp.up_proj.weight", {F, C}), precision_);
    w.down = GemmWeight(ck.tensor(p + "mlp.down_proj.weight", {C, F}), precision_);
  }
}

std::unique_ptr<LlamaModel> LlamaModel::open(const std::string& path, const ModelOptions& options) {
  return std::make_unique<LlamaModel>(ModelCheckpoint::open(path), options);
}

const RopeTable& LlamaModel::rope(int64_t n_positions) const {
  if (!rope_ || rope_->max_positions() < n_positions) {
    // Grow in steps so that token-by-token generation does not rebuild the table every step.
    const int64_t size = std::max<int64_t>(n_positions, std::max<int64_t>(config_.max_position_embeddings, 2 * (rope_ ? rope_->max_positions() : 0)));
    rope_ = std::make_unique<RopeTable>(static_cast<int>(config_.head_dim), config_.rope_theta, config_.rope_factor, size);
  }
  return *rope_;
}

int64_t parameter_count(const LlamaConfig& c) {
  const int64_t C = c.hidden_size, F = c.intermediate_size, V = c.vocab_size;
  const int64_t qdim = c.num_heads * c.head_dim, kvdim = c.num_kv_heads * c.head_dim;
  const int64_t per_layer = 2 * C + qdim * C + 2 * kvdim * C + C * qdim + 3 * F * C;
  return V * C * (c.tie_word_embeddings ? 1 : 2) + C + c.num_layers * per_layer;
}

}  // namespace ll
