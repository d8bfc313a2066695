#include "model/llama_model.h"

#include <algorithm>
#include <cstring>

#include "core/half.h"
#include "formats/llama_tensors.h"
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

// An f32 copy of a stored tensor (norms; masters of trainable weights).
OwnedTensor f32_copy(const Tensor& t) {
  OwnedTensor w(DType::F32, t.shape, t.ndim);
  to_f32(w.as<float>(), t.data, t.dtype, t.numel());
  return w;
}

// The projection `module` [out, in], with its bias [out] when `bias`.
Linear make_linear(const ModelCheckpoint& ck, const std::string& module, int64_t out, int64_t in, bool bias,
                   Precision p) {
  Linear lin;
  lin.name = module;
  lin.weight = GemmWeight(ck.tensor(module + ".weight", {out, in}), p);
  if (bias) lin.bias.value = f32_copy(ck.tensor(module + ".bias", {out}));
  return lin;
}

bool contains_any(const std::string& name, const std::vector<std::string>& parts) {
  return std::any_of(parts.begin(), parts.end(), [&](const std::string& s) { return name.find(s) != std::string::npos; });
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

LlamaModel::LlamaModel(std::unique_ptr<ModelCheckpoint> checkpoint, const ModelOptions& options)
    : checkpoint_(std::move(checkpoint)), config_(checkpoint_->config()), precision_(options.precision) {
  const ModelCheckpoint& ck = *checkpoint_;
  ll::set_rope_factor(config_,
                  options.rope_factor > 0 ? options.rope_factor : interpolation_factor(config_, options.context));

  const int64_t C = config_.hidden_size, F = config_.intermediate_size, V = config_.vocab_size;
  const int64_t qdim = config_.num_heads * config_.head_dim, kvdim = config_.num_kv_heads * config_.head_dim;
  const Precision p = precision_;
  embed = ck.tensor("model.embed_tokens.weight", {V, C});
  final_norm.value = f32_copy(ck.tensor("model.norm.weight", {C}));
  lm_head.name = "lm_head";
  lm_head.weight = GemmWeight(config_.tie_word_embeddings ? embed : ck.tensor("lm_head.weight", {V, C}), p);
  layers.resize(static_cast<size_t>(config_.num_layers));
  for (int64_t l = 0; l < config_.num_layers; ++l) {
    const std::string pre = "model.layers." + std::to_string(l) + ".";
    LlamaLayerWeights& w = layers[static_cast<size_t>(l)];
    w.attn_norm.value = f32_copy(ck.tensor(pre + "input_layernorm.weight", {C}));
    w.ffn_norm.value = f32_copy(ck.tensor(pre + "post_attention_layernorm.weight", {C}));
    w.q = make_linear(ck, pre + "self_attn.q_proj", qdim, C, config_.qkv_bias, p);
    w.k = make_linear(ck, pre + "self_attn.k_proj", kvdim, C, config_.qkv_bias, p);
    w.v = make_linear(ck, pre + "self_attn.v_proj", kvdim, C, config_.qkv_bias, p);
    w.o = make_linear(ck, pre + "self_attn.o_proj", C, qdim, config_.o_bias, p);
    w.gate = make_linear(ck, pre + "mlp.gate_proj", F, C, false, p);
    w.up = make_linear(ck, pre + "mlp.up_proj", F, C, false, p);
    w.down = make_linear(ck, pre + "mlp.down_proj", C, F, false, p);
  }
}

std::unique_ptr<LlamaModel> LlamaModel::open(const std::string& path, const ModelOptions& options) {
  return std::make_unique<LlamaModel>(ModelCheckpoint::open(path), options);
}

const RopeTable& LlamaModel::rope(int64_t n_positions) const {
  if (!rope_ || rope_->max_positions() < n_positions) {
    // Grow geometrically so token-by-token generation does not rebuild the table every step.
    const int64_t grown = std::max(config_.max_position_embeddings, 2 * (rope_ ? rope_->max_positions() : 0));
    rope_ = std::make_unique<RopeTable>(rope_table_for(config_, std::max(n_positions, grown)));
  }
  return *rope_;
}

void LlamaModel::set_rope_factor(double factor) {
  LL_CHECK(factor > 0);
  if (factor == config_.rope_factor) return;
  ll::set_rope_factor(config_, factor);  // a llama3-scaled model's context grows with it
  rope_.reset();
}

std::vector<Linear*> LlamaModel::all_linears() {
  std::vector<Linear*> out;
  for (auto& w : layers)
    for (Linear* lin : {&w.q, &w.k, &w.v, &w.o, &w.gate, &w.up, &w.down}) out.push_back(lin);
  out.push_back(&lm_head);
  return out;
}

Param* LlamaModel::trainable_master(Linear& lin, const Tensor& stored) {
  masters_.push_back(std::make_unique<Param>());
  Param* m = masters_.back().get();
  m->value = f32_copy(stored);
  m->make_trainable();
  lin.master = m;
  lin.weight = GemmWeight(m->value.view(), precision_);
  return m;
}

void LlamaModel::make_trainable(const TrainableOptions& opt) {
  LL_CHECK(trainable_.empty());
  const bool lora = opt.lora_enabled && !opt.full;
  if (lora) {
    if (opt.lora.rank <= 0) fail_expected("LoRA options", "--lora-r", "a rank ≥ 1", std::to_string(opt.lora.rank));
    if (!(opt.lora.dropout >= 0 && opt.lora.dropout < 1))
      fail_expected("LoRA options", "--lora-dropout", "a probability in [0, 1)", std::to_string(opt.lora.dropout));
    for (const std::string& t : opt.lora.targets) {
      const auto lins = all_linears();
      if (std::none_of(lins.begin(), lins.end(), [&](const Linear* l) { return ends_with(l->name, t); }))
        fail_input("--lora-targets", "'" + t + "' matches no module of a LLaMA (q_proj k_proj v_proj o_proj gate_proj up_proj down_proj lm_head)");
    }
  }
  for (const std::string& s : opt.extra) {
    bool found = false;
    for (const auto& t : llama_expected_tensors(checkpoint_->config())) found |= t.name.find(s) != std::string::npos;
    if (!found) fail_input("--trainable", "'" + s + "' is part of no weight name of this model");
  }
  auto wants = [&](const std::string& hf_name) { return opt.full || contains_any(hf_name, opt.extra); };
  auto add_lora = [&](Linear& lin) {
    if (!lora || !std::any_of(opt.lora.targets.begin(), opt.lora.targets.end(),
                              [&](const std::string& t) { return ends_with(lin.name, t); }))
      return;
    adapters_.push_back(std::make_unique<LoraAdapter>(
        new_lora_adapter(lin.name, lin.in(), lin.out(), opt.lora, opt.seed, precision_)));
    LoraAdapter* a = adapters_.back().get();
    a->A.make_trainable();
    a->B.make_trainable();
    lin.lora = a;
    trainable_.push_back({a->name_A(), &a->A});
    trainable_.push_back({a->name_B(), &a->B});
  };
  auto add_norm = [&](Param& norm, const std::string& name) {
    if (!wants(name)) return;
    norm.make_trainable();
    trainable_.push_back({name, &norm});
  };
  auto add_linear = [&](Linear& lin) {
    const std::string name = lin.name + ".weight";
    if (wants(name)) trainable_.push_back({name, trainable_master(lin, checkpoint_->tensor(name))});
    if (lin.has_bias() && wants(lin.name + ".bias")) {
      lin.bias.make_trainable();
      trainable_.push_back({lin.name + ".bias", &lin.bias});
    }
    add_lora(lin);
  };

  if (wants("model.embed_tokens.weight")) {
    embed_master.value = f32_copy(embed);
    embed_master.make_trainable();
    trainable_.push_back({"model.embed_tokens.weight", &embed_master});
  }
  for (size_t l = 0; l < layers.size(); ++l) {
    LlamaLayerWeights& w = layers[l];
    const std::string pre = "model.layers." + std::to_string(l) + ".";
    add_norm(w.attn_norm, pre + "input_layernorm.weight");
    for (Linear* lin : {&w.q, &w.k, &w.v, &w.o}) add_linear(*lin);
    add_norm(w.ffn_norm, pre + "post_attention_layernorm.weight");
    for (Linear* lin : {&w.gate, &w.up, &w.down}) add_linear(*lin);
  }
  add_norm(final_norm, "model.norm.weight");
  if (config_.tie_word_embeddings) {
    // lm_head is the embedding: it trains (and accumulates its gradient) with it.
    if (!embed_master.value.empty()) {
      lm_head.master = &embed_master;
      lm_head.weight = GemmWeight(embed_master.value.view(), precision_);
    }
    add_lora(lm_head);
  } else {
    add_linear(lm_head);
  }
}

void LlamaModel::zero_grads() {
  for (const NamedParam& p : trainable_) std::memset(p.param->grad.data(), 0, p.param->grad.view().nbytes());
}

void LlamaModel::refresh_after_update() {
  for (Linear* lin : all_linears()) {
    if (lin->master) lin->weight.update(lin->master->value.view());
    if (lin->lora) lin->lora->refresh(precision_);
  }
}

std::vector<const LoraAdapter*> LlamaModel::lora_adapters() const {
  std::vector<const LoraAdapter*> out;
  for (const auto& a : adapters_) out.push_back(a.get());
  return out;
}

Linear* LlamaModel::find_linear(const std::string& module) {
  for (Linear* lin : all_linears())
    if (lin->name == module) return lin;
  return nullptr;
}

void LlamaModel::attach_lora(const std::string& module, const Tensor& A, const Tensor& B, float scale,
                             const std::string& source) {
  Linear* lin = find_linear(module);
  if (!lin) fail_input(source, "adapter targets '" + module + "', which this model does not have");
  const int64_t r = A.ndim == 2 ? A.shape[0] : -1;
  if (A.ndim != 2 || B.ndim != 2 || A.shape[1] != lin->in() || B.shape[0] != lin->out() || B.shape[1] != r)
    fail_expected(source, "LoRA of '" + module + "'",
                  "A [r, " + std::to_string(lin->in()) + "] and B [" + std::to_string(lin->out()) + ", r]",
                  "A " + A.shape_str() + " and B " + B.shape_str() + " (an adapter for another model?)");
  auto a = std::make_unique<LoraAdapter>();
  a->module = module;
  a->in = lin->in();
  a->out = lin->out();
  a->rank = r;
  a->scale = scale;
  a->A.value = f32_copy(A);
  a->B.value = f32_copy(B);
  a->refresh(precision_);
  lin->lora = a.get();
  adapters_.push_back(std::move(a));
}

void LlamaModel::grow_vocabulary(int64_t new_vocab) {
  const int64_t old_vocab = config_.vocab_size, C = config_.hidden_size;
  config_.vocab_size = new_vocab;
  if (config_.tie_word_embeddings) return;  // lm_head follows the embedding
  // lm_head's new rows: the mean of the existing rows.
  Param* head = lm_head.master;
  if (!head) {
    masters_.push_back(std::make_unique<Param>());
    head = masters_.back().get();
    head->value = f32_copy(checkpoint_->tensor("lm_head.weight"));
    lm_head.master = head;
  }
  OwnedTensor grown(DType::F32, {new_vocab, C});
  float* g = grown.as<float>();
  std::memcpy(g, head->data(), static_cast<size_t>(old_vocab * C) * sizeof(float));
  std::vector<double> mean(static_cast<size_t>(C), 0.0);
  for (int64_t v = 0; v < old_vocab; ++v)
    for (int64_t i = 0; i < C; ++i) mean[static_cast<size_t>(i)] += g[v * C + i];
  for (int64_t v = old_vocab; v < new_vocab; ++v)
    for (int64_t i = 0; i < C; ++i) g[v * C + i] = static_cast<float>(mean[static_cast<size_t>(i)] / old_vocab);
  head->value = std::move(grown);
  lm_head.weight = GemmWeight(head->value.view(), precision_);
}

void LlamaModel::replace_weight(const std::string& name, const Tensor& value, const std::string& source) {
  const int64_t C = config_.hidden_size;
  auto check_shape = [&](const std::vector<int64_t>& want) {
    bool same = value.ndim == static_cast<int>(want.size());
    for (int d = 0; same && d < value.ndim; ++d) same = value.shape[d] == want[static_cast<size_t>(d)];
    if (!same) {
      std::string w = "[";
      for (size_t d = 0; d < want.size(); ++d) w += (d ? ", " : "") + std::to_string(want[d]);
      fail_expected(source, "tensor '" + name + "'", "shape " + w + "]", value.shape_str());
    }
  };
  if (name == "model.embed_tokens.weight") {
    if (value.ndim != 2 || value.shape[1] != C || value.shape[0] < config_.vocab_size)
      fail_expected(source, "tensor '" + name + "'", "shape [≥" + std::to_string(config_.vocab_size) + ", " +
                    std::to_string(C) + "]", value.shape_str());
    embed_master.value = f32_copy(value);
    if (value.shape[0] > config_.vocab_size) grow_vocabulary(value.shape[0]);
    if (config_.tie_word_embeddings) lm_head.weight = GemmWeight(embed_master.value.view(), precision_);
    return;
  }
  Param* norm = nullptr;
  if (name == "model.norm.weight") norm = &final_norm;
  for (size_t l = 0; l < layers.size() && !norm; ++l) {
    const std::string pre = "model.layers." + std::to_string(l) + ".";
    if (name == pre + "input_layernorm.weight") norm = &layers[l].attn_norm;
    if (name == pre + "post_attention_layernorm.weight") norm = &layers[l].ffn_norm;
  }
  if (norm) {
    check_shape({C});
    to_f32(norm->value.as<float>(), value.data, value.dtype, C);
    return;
  }
  if (Linear* lin = ends_with(name, ".bias") ? find_linear(name.substr(0, name.size() - 5)) : nullptr;
      lin && lin->has_bias()) {
    check_shape({lin->out()});
    to_f32(lin->bias.value.as<float>(), value.data, value.dtype, lin->out());
    return;
  }
  const std::string module = ends_with(name, ".weight") ? name.substr(0, name.size() - 7) : name;
  Linear* lin = find_linear(module);
  if (!lin) fail_input(source, "tensor '" + name + "' is no weight of this model");
  check_shape({lin->out(), lin->in()});
  masters_.push_back(std::make_unique<Param>());
  lin->master = masters_.back().get();
  lin->master->value = f32_copy(value);
  lin->weight = GemmWeight(lin->master->value.view(), precision_);
}

void LlamaModel::merge_adapters() {
  for (Linear* lin : all_linears()) {
    if (!lin->lora) continue;
    const LoraAdapter& a = *lin->lora;
    if (!lin->master) {
      OwnedTensor value = f32_copy(current_weight(lin->name + ".weight"));
      masters_.push_back(std::make_unique<Param>());
      lin->master = masters_.back().get();
      lin->master->value = std::move(value);
    }
    // ΔW [out, in] = B [out, r] · A [r, in], then W += scale · ΔW
    OwnedTensor delta(DType::F32, {a.out, a.in});
    const GemmWeight A(a.A.value.view(), Precision::F32);
    linear_backward_input(delta.as<float>(), a.in, a.B.data(), a.rank, a.out, A, /*accumulate=*/false);
    float* w = lin->master->value.as<float>();
    const float* d = delta.as<float>();
    for (int64_t i = 0; i < a.out * a.in; ++i) w[i] += a.scale * d[i];
    lin->weight = GemmWeight(lin->master->value.view(), precision_);
    lin->lora = nullptr;
  }
  adapters_.clear();
}

Tensor LlamaModel::current_weight(const std::string& name) const {
  if (name == "model.embed_tokens.weight") return embed_table();
  if (name == "model.norm.weight") return final_norm.value.view();
  for (size_t l = 0; l < layers.size(); ++l) {
    const std::string pre = "model.layers." + std::to_string(l) + ".";
    if (name == pre + "input_layernorm.weight") return layers[l].attn_norm.value.view();
    if (name == pre + "post_attention_layernorm.weight") return layers[l].ffn_norm.value.view();
  }
  for (Linear* lin : const_cast<LlamaModel*>(this)->all_linears()) {
    if (name == lin->name + ".weight") return lin->master ? lin->master->value.view() : checkpoint_->tensor(name);
    if (name == lin->name + ".bias" && lin->has_bias()) return lin->bias.value.view();
  }
  fail_input(checkpoint_->path(), "no weight named '" + name + "'");
}

int64_t parameter_count(const LlamaConfig& c) {
  const int64_t C = c.hidden_size, F = c.intermediate_size, V = c.vocab_size;
  const int64_t qdim = c.num_heads * c.head_dim, kvdim = c.num_kv_heads * c.head_dim;
  const int64_t biases = (c.qkv_bias ? qdim + 2 * kvdim : 0) + (c.o_bias ? C : 0);
  const int64_t per_layer = 2 * C + qdim * C + 2 * kvdim * C + C * qdim + 3 * F * C + biases;
  return V * C * (c.tie_word_embeddings ? 1 : 2) + C + c.num_layers * per_layer;
}

}  // namespace ll
