#include "formats/model_files.h"

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "formats/gguf_llama.h"
#include "formats/llama_tensors.h"
#include "formats/rope_layout.h"

namespace ll {

namespace fs = std::filesystem;

namespace {

bool looks_like_gguf(const std::string& path) {
  if (fs::path(path).extension() == ".gguf") return true;
  char magic[4] = {};
  std::ifstream in(path, std::ios::binary);
  return in.read(magic, 4) && std::string(magic, 4) == "GGUF";
}

}  // namespace

std::unique_ptr<ModelFiles> ModelFiles::open(const std::string& path) {
  std::unique_ptr<ModelFiles> ck(new ModelFiles());
  ck->path_ = path;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) fail_input(path, "no such file or directory");
  if (fs::is_directory(status))
    ck->open_hf_dir();
  else if (fs::is_regular_file(status) && looks_like_gguf(path))
    ck->open_gguf();
  else
    fail_input(
        path,
        "not a model: expected an HF model directory (config.json + model.safetensors) or a .gguf file");

  validate_llama_weights(*ck);
  // GGUF stores q/k rows interleaved; convert them once (their shapes were validated above).
  if (ck->is_gguf()) {
    const LlamaConfig& c = ck->config_;
    for (int64_t l = 0; l < c.num_layers; ++l) {
      const std::string p = "model.layers." + std::to_string(l) + ".self_attn.";
      for (const auto& [name, n_head] :
           {std::pair{p + "q_proj.weight", c.num_heads}, std::pair{p + "k_proj.weight", c.num_kv_heads}})
        ck->rotate_half_qk_[name] =
            interleaved_to_rotate_half(ck->gguf_->tensor(ck->gguf_names_.at(name)), n_head);
    }
  }
  return ck;
}

std::unique_ptr<ModelFiles> ModelFiles::shapes_only(const LlamaConfig& config, DType dtype) {
  std::unique_ptr<ModelFiles> ck(new ModelFiles());
  ck->path_ = "(shapes of the config)";
  ck->config_ = config;
  for (const ExpectedTensor& e : llama_expected_tensors(config)) {
    Tensor t = e.shape.size() == 1 ? Tensor::view(static_cast<void*>(nullptr), dtype, {e.shape[0]})
                                   : Tensor::view(static_cast<void*>(nullptr), dtype, {e.shape[0], e.shape[1]});
    ck->shapes_[e.name] = t;
  }
  return ck;
}

void ModelFiles::open_hf_dir() {
  const std::string config_path = path_ + "/config.json";
  if (!fs::exists(config_path))
    fail_input(path_,
               "not a model directory: no config.json (expected an HF model directory or a .gguf file)");
  config_ = parse_hf_config(config_path);
  store_ = std::make_unique<TensorStore>(TensorStore::open_hf_dir(path_));
}

void ModelFiles::open_gguf() {
  gguf_ = std::make_unique<GgufFile>(path_);
  config_ = config_from_gguf(*gguf_);
  for (const auto& entry : gguf_->tensor_entries())
    gguf_names_[hf_name_for_gguf(entry.name).value_or(entry.name)] = entry.name;
}

std::string ModelFiles::tokenizer_model_path() const {
  if (is_gguf()) return "";
  const std::string p = path_ + "/tokenizer.model";
  return fs::exists(p) ? p : "";
}

bool ModelFiles::has(const std::string& name) const {
  if (!has_weights()) return shapes_.count(name) != 0;
  return store_ ? store_->has(name) : gguf_names_.count(name) != 0;
}

Tensor ModelFiles::tensor(const std::string& name) const {
  if (!has_weights()) {
    const auto it = shapes_.find(name);
    if (it == shapes_.end()) fail_input("", "missing tensor '" + name + "' in " + path_);
    return it->second;
  }
  if (store_) return store_->get(name);
  if (const auto it = rotate_half_qk_.find(name); it != rotate_half_qk_.end()) return it->second.view();
  const auto it = gguf_names_.find(name);
  if (it == gguf_names_.end()) {
    const auto gguf_name = find_gguf_name(name);
    fail_input("", "missing tensor '" + name + "'" + (gguf_name ? " (GGUF '" + *gguf_name + "')" : "") +
                       " in " + path_);
  }
  return gguf_->tensor(it->second);
}

std::vector<int64_t> ModelFiles::stored_shape(const std::string& name) const {
  if (!has_weights()) {
    const Tensor t = tensor(name);
    return std::vector<int64_t>(t.shape, t.shape + t.ndim);
  }
  if (store_) return store_->entry(name).shape;
  tensor(name);  // the "missing" and "unsupported type" errors
  return gguf_->find_tensor(gguf_names_.at(name))->shape;
}

Tensor ModelFiles::tensor(const std::string& name, std::initializer_list<int64_t> expected_shape) const {
  return tensor(name, std::vector<int64_t>(expected_shape));
}

Tensor ModelFiles::tensor(const std::string& name, const std::vector<int64_t>& expected_shape) const {
  const std::vector<int64_t> found = stored_shape(name);
  if (found != expected_shape) {
    const std::string label = is_gguf() ? " (GGUF '" + gguf_names_.at(name) + "')" : "";
    fail_input("tensor '" + name + "'" + label + " in " + file_of(name),
               "expected shape " + shape_string(expected_shape) + ", found " + shape_string(found));
  }
  return tensor(name);
}

std::vector<std::string> ModelFiles::tensor_names() const {
  if (!has_weights()) {
    std::vector<std::string> names;
    for (const auto& [name, t] : shapes_) names.push_back(name);
    return names;
  }
  if (store_) return store_->names();
  std::vector<std::string> names;
  names.reserve(gguf_names_.size());
  for (const auto& [hf, gguf] : gguf_names_) names.push_back(hf);
  return names;
}

std::string ModelFiles::file_of(const std::string& name) const {
  return store_ ? store_->file_of(name) : path_;  // a GGUF file, or the shapes' pseudo path
}

DType ModelFiles::weight_dtype() const { return tensor("model.layers.0.self_attn.q_proj.weight").dtype; }

void validate_llama_weights(const ModelFiles& files) {
  for (const ExpectedTensor& e : llama_expected_tensors(files.config())) {
    const Tensor t = files.tensor(e.name, e.shape);
    if (t.dtype != DType::F32 && t.dtype != DType::F16 && t.dtype != DType::BF16)
      fail_input(files.file_of(e.name),
                 "tensor '" + e.name + "' has dtype " + dtype_name(t.dtype) + "; expected f32, f16 or bf16");
  }
}

}  // namespace ll
