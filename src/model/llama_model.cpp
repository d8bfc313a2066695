#include "model/llama_model.h"

#include <algorithm>

#include "core/half.h"
#include "formats/llama_tensors.h"
#include "model/position_interpolation.h"

namespace ll {

Precision default_precision(DType weight_dtype, bool training) {
  return (training || weight_dtype != DType::F32) ? Precision::BF16 : Precision::F32;
}

namespace {

bool contains_any(const std::string& name, const std::vector<std::string>& parts) {
  return std::any_of(parts.begin(), parts.end(), [&](const std::string& s) { return name.find(s) != std::string::npos; });
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

LlamaModel::LlamaModel(std::unique_ptr<ModelFiles> files, const ModelOptions& options)
    : files_(std::move(files)),
      config_(files_->config()),
      precision_(options.precision),
      backend_(options.backend ? *options.backend : cpu_backend()) {
  const ModelFiles& ck = *files_;
  ll::set_rope_factor(config_,
                  options.rope_factor > 0 ? options.rope_factor : interpolation_factor(config_, options.context));

  const int64_t C = config_.hidden_size, F = config_.intermediate_size, V = config_.vocab_size;
  const int64_t qdim = config_.q_dim(), kvdim = config_.kv_dim();
  // The projection `module` [out, in], with its bias [out] when `bias`.
  auto linear = [&](const std::string& module, int64_t out, int64_t in, bool bias) {
    Linear lin;
    lin.name = module;
    backend_.prepare_weight(lin.weight, ck.tensor(module + ".weight", {out, in}), precision_);
    if (bias) lin.bias.value = owned_f32(ck.tensor(module + ".bias", {out}));
    return lin;
  };
  auto norm = [&](const std::string& name) { return Param{owned_f32(ck.tensor(name, {C})), Tensor()}; };

  embed = ck.tensor("model.embed_tokens.weight", {V, C});
  embed_resident_ = backend_.resident(embed, embed_keep_);
  final_norm = norm("model.norm.weight");
  lm_head.name = "lm_head";
  backend_.prepare_weight(lm_head.weight, config_.tie_word_embeddings ? embed : ck.tensor("lm_head.weight", {V, C}),
                          precision_);
  layers.resize(static_cast<size_t>(config_.num_layers));
  for (int64_t l = 0; l < config_.num_layers; ++l) {
    const std::string pre = "model.layers." + std::to_string(l) + ".";
    LlamaLayerWeights& w = layers[static_cast<size_t>(l)];
    w.attn_norm = norm(pre + "input_layernorm.weight");
    w.ffn_norm = norm(pre + "post_attention_layernorm.weight");
    w.q = linear(pre + "self_attn.q_proj", qdim, C, config_.qkv_bias);
    w.k = linear(pre + "self_attn.k_proj", kvdim, C, config_.qkv_bias);
    w.v = linear(pre + "self_attn.v_proj", kvdim, C, config_.qkv_bias);
    w.o = linear(pre + "self_attn.o_proj", C, qdim, config_.o_bias);
    w.gate = linear(pre + "mlp.gate_proj", F, C, false);
    w.up = linear(pre + "mlp.up_proj", F, C, false);
    w.down = linear(pre + "mlp.down_proj", C, F, false);
  }
}

std::unique_ptr<LlamaModel> LlamaModel::open(const std::string& path, const ModelOptions& options) {
  return std::make_unique<LlamaModel>(ModelFiles::open(path), options);
}

Tensor LlamaModel::owned_f32(const Tensor& value) {
  owned_.emplace_back(backend_, DType::F32, value.shape, value.ndim);
  backend_.load_as_f32(owned_.back().as<float>(), value);
  return owned_.back().view();
}

void LlamaModel::own_master(Linear& lin, const Tensor& value) {
  masters_.push_back(std::make_unique<Param>(Param{owned_f32(value), Tensor()}));
  lin.master = masters_.back().get();
  backend_.prepare_weight(lin.weight, lin.master->value, precision_);
}

const RopeTable& LlamaModel::rope(int64_t n_positions) const {
  if (!rope_ || rope_->max_positions() < n_positions) {
    // Grow geometrically so token-by-token generation does not rebuild the table every step.
    const int64_t grown = std::max(config_.max_position_embeddings, 2 * (rope_ ? rope_->max_positions() : 0));
    rope_ = std::make_unique<RopeTable>(rope_table_for(config_, std::max(n_positions, grown), backend_));
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

void LlamaModel::make_trainable(const TrainableOptions& opt) {
  LL_CHECK(trainable_.empty() && !store_.allocated());
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
    for (const auto& t : llama_expected_tensors(files_->config())) found |= t.name.find(s) != std::string::npos;
    if (!found) fail_input("--trainable", "'" + s + "' is part of no weight name of this model");
  }
  auto wants = [&](const std::string& hf_name) { return opt.full || contains_any(hf_name, opt.extra); };

  // Every trainable tensor in the fixed order, with where its view goes and how it starts. The store
  // is laid out from this list, allocated once, then filled.
  struct Planned {
    std::string name;
    Param* param;
    Tensor initial;           // host or backend memory to load from; empty: zeros, or LoRA's A
    LoraAdapter* lora_A_of = nullptr;
  };
  std::vector<Planned> planned;
  auto add_lora = [&](Linear& lin) {
    if (!lora || !std::any_of(opt.lora.targets.begin(), opt.lora.targets.end(),
                              [&](const std::string& t) { return ends_with(lin.name, t); }))
      return;
    adapters_.push_back(std::make_unique<LoraAdapter>(new_lora_adapter(lin.name, lin.in(), lin.out(), opt.lora)));
    LoraAdapter* a = adapters_.back().get();
    lin.lora = a;
    planned.push_back({a->name_A(), &a->A, Tensor::view(static_cast<void*>(nullptr), DType::F32, {a->rank, a->in}), a});
    planned.push_back({a->name_B(), &a->B, Tensor::view(static_cast<void*>(nullptr), DType::F32, {a->out, a->rank}), nullptr});
  };
  auto add_norm = [&](Param& norm, const std::string& name) {
    if (wants(name)) planned.push_back({name, &norm, norm.value});
  };
  auto add_linear = [&](Linear& lin) {
    const std::string name = lin.name + ".weight";
    if (wants(name)) {
      masters_.push_back(std::make_unique<Param>());
      lin.master = masters_.back().get();
      planned.push_back({name, lin.master, files_->tensor(name)});
    }
    if (lin.has_bias() && wants(lin.name + ".bias")) planned.push_back({lin.name + ".bias", &lin.bias, lin.bias.value});
    add_lora(lin);
  };
  if (wants("model.embed_tokens.weight")) planned.push_back({"model.embed_tokens.weight", &embed_master, embed_table()});
  for (size_t l = 0; l < layers.size(); ++l) {
    LlamaLayerWeights& w = layers[l];
    const std::string pre = "model.layers." + std::to_string(l) + ".";
    add_norm(w.attn_norm, pre + "input_layernorm.weight");
    for (Linear* lin : {&w.q, &w.k, &w.v, &w.o}) add_linear(*lin);
    add_norm(w.ffn_norm, pre + "post_attention_layernorm.weight");
    for (Linear* lin : {&w.gate, &w.up, &w.down}) add_linear(*lin);
  }
  add_norm(final_norm, "model.norm.weight");
  const bool tied = config_.tie_word_embeddings;
  if (tied)
    add_lora(lm_head);  // lm_head is the embedding: it trains (and accumulates its gradient) with it
  else
    add_linear(lm_head);

  for (const Planned& p : planned) {
    const Tensor& shape = p.initial.ndim ? p.initial : p.param->value;
    store_.declare(p.name, shape.shape, shape.ndim);
  }
  store_.allocate(backend_);
  for (size_t i = 0; i < planned.size(); ++i) {
    const Planned& p = planned[i];
    const Tensor value = store_.value(i);
    if (p.lora_A_of) {
      const LoraAdapter& a = *p.lora_A_of;
      const std::vector<float> A = initial_lora_A(a.module, a.in, a.rank, opt.seed);
      backend_.upload(value.data, A.data(), A.size() * sizeof(float));
    } else if (p.initial.data) {
      backend_.load_as_f32(static_cast<float*>(value.data), p.initial);
    }
    *p.param = Param{value, store_.grad(i)};
    trainable_.push_back({p.name, p.param});
  }
  for (Linear* lin : all_linears()) {
    if (lin->master) backend_.prepare_weight(lin->weight, lin->master->value, precision_);
    if (lin->lora) lin->lora->refresh(backend_, precision_);
  }
  if (tied && embed_master.trainable()) {
    lm_head.master = &embed_master;
    backend_.prepare_weight(lm_head.weight, embed_master.value, precision_);
  }
}

void LlamaModel::zero_grads() {
  if (store_.allocated()) backend_.fill_zero(store_.grads(), static_cast<size_t>(store_.elements()) * sizeof(float));
}

void LlamaModel::refresh_after_update() {
  for (Linear* lin : all_linears()) {
    if (lin->master) backend_.prepare_weight(lin->weight, lin->master->value, precision_);
    if (lin->lora) lin->lora->refresh(backend_, precision_);
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
  a->A.value = owned_f32(A);
  a->B.value = owned_f32(B);
  a->refresh(backend_, precision_);
  lin->lora = a.get();
  adapters_.push_back(std::move(a));
}

void LlamaModel::grow_vocabulary(int64_t new_vocab) {
  const int64_t old_vocab = config_.vocab_size, C = config_.hidden_size;
  config_.vocab_size = new_vocab;
  if (config_.tie_word_embeddings) return;  // lm_head follows the embedding
  // lm_head's new rows: the mean of the existing rows (on the host, once).
  OwnedTensor keep;
  const Tensor head = current_weight("lm_head.weight", keep);
  OwnedTensor grown(DType::F32, {new_vocab, C});
  float* g = grown.as<float>();
  to_f32(g, head.data, head.dtype, old_vocab * C);
  std::vector<double> mean(static_cast<size_t>(C), 0.0);
  for (int64_t v = 0; v < old_vocab; ++v)
    for (int64_t i = 0; i < C; ++i) mean[static_cast<size_t>(i)] += g[v * C + i];
  for (int64_t v = old_vocab; v < new_vocab; ++v)
    for (int64_t i = 0; i < C; ++i) g[v * C + i] = static_cast<float>(mean[static_cast<size_t>(i)] / old_vocab);
  own_master(lm_head, grown.view());
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
    embed_master.value = owned_f32(value);
    if (value.shape[0] > config_.vocab_size) grow_vocabulary(value.shape[0]);
    if (config_.tie_word_embeddings) backend_.prepare_weight(lm_head.weight, embed_master.value, precision_);
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
    backend_.load_as_f32(norm->data(), value);
    return;
  }
  if (Linear* lin = ends_with(name, ".bias") ? find_linear(name.substr(0, name.size() - 5)) : nullptr;
      lin && lin->has_bias()) {
    check_shape({lin->out()});
    backend_.load_as_f32(lin->bias.data(), value);
    return;
  }
  const std::string module = ends_with(name, ".weight") ? name.substr(0, name.size() - 7) : name;
  Linear* lin = find_linear(module);
  if (!lin) fail_input(source, "tensor '" + name + "' is no weight of this model");
  check_shape({lin->out(), lin->in()});
  own_master(*lin, value);
}

void LlamaModel::merge_adapters() {
  Arena scratch(backend_, 0);
  for (Linear* lin : all_linears()) {
    if (!lin->lora) continue;
    const LoraAdapter& a = *lin->lora;
    if (!lin->master) {
      OwnedTensor keep;
      own_master(*lin, current_weight(lin->name + ".weight", keep));
    }
    // W [out, in] += (scale·B) [out, r] · A [r, in]: the backward-input GEMM of A, accumulating, in f32.
    ArenaScope scope(scratch);
    float* scaled_B = scratch.alloc<float>(a.out * a.rank);
    backend_.copy(scaled_B, a.B.data(), static_cast<size_t>(a.out * a.rank) * sizeof(float));
    backend_.scale(scaled_B, a.out * a.rank, a.scale);
    GemmWeight A;
    backend_.prepare_weight(A, a.A.value, Precision::F32);
    backend_.linear_backward_input(lin->master->data(), a.in, scaled_B, a.rank, a.out, A, /*accumulate=*/true, scratch);
    backend_.prepare_weight(lin->weight, lin->master->value, precision_);
    lin->lora = nullptr;
  }
  adapters_.clear();
}

Tensor LlamaModel::current_weight(const std::string& name, OwnedTensor& keep) const {
  auto on_host = [&](const Tensor& t) { return host_view(backend_, t, keep); };
  if (name == "model.embed_tokens.weight") return embed_master.value.empty() ? embed : on_host(embed_master.value);
  if (name == "model.norm.weight") return on_host(final_norm.value);
  for (size_t l = 0; l < layers.size(); ++l) {
    const std::string pre = "model.layers." + std::to_string(l) + ".";
    if (name == pre + "input_layernorm.weight") return on_host(layers[l].attn_norm.value);
    if (name == pre + "post_attention_layernorm.weight") return on_host(layers[l].ffn_norm.value);
  }
  for (Linear* lin : const_cast<LlamaModel*>(this)->all_linears()) {
    if (name == lin->name + ".weight") return lin->master ? on_host(lin->master->value) : files_->tensor(name);
    if (name == lin->name + ".bias" && lin->has_bias()) return on_host(lin->bias.value);
  }
  fail_input(files_->path(), "no weight named '" + name + "'");
}

int64_t parameter_count(const LlamaConfig& c) {
  const int64_t C = c.hidden_size, F = c.intermediate_size, V = c.vocab_size;
  const int64_t qdim = c.q_dim(), kvdim = c.kv_dim();
  const int64_t biases = (c.qkv_bias ? qdim + 2 * kvdim : 0) + (c.o_bias ? C : 0);
  const int64_t per_layer = 2 * C + qdim * C + 2 * kvdim * C + C * qdim + 3 * F * C + biases;
  return V * C * (c.tie_word_embeddings ? 1 : 2) + C + c.num_layers * per_layer;
}

}  // namespace ll
