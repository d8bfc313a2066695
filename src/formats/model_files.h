// What `--model` opens: an HF model directory or a GGUF file, presented the same way — a
// LlamaConfig and the weights under their HF names, q/k rows in HF's rotate-half order.
#pragma once
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "formats/gguf.h"
#include "formats/llama_config.h"
#include "formats/tensor_store.h"

namespace ll {

class ModelFiles {
 public:
  // `path` is a directory holding config.json + model.safetensors (or a sharded index), or a
  // .gguf file. Validates the config and every weight the model needs (names, shapes, dtypes);
  // anything else throws InputError.
  static std::unique_ptr<ModelFiles> open(const std::string& path);
  // The checkpoint `config` describes, without weights: every tensor of llama_expected_tensors with
  // `dtype` and no data (nullptr). What the memory plan's dry runs load (model/memory_plan.h).
  static std::unique_ptr<ModelFiles> shapes_only(const LlamaConfig& config, DType dtype);
  bool has_weights() const { return shapes_.empty(); }

  const LlamaConfig& config() const { return config_; }
  const std::string& path() const { return path_; }
  bool is_gguf() const { return gguf_ != nullptr; }
  const GgufFile* gguf() const { return gguf_.get(); }  // for the tokenizer; null for HF dirs
  // HF dir: <dir>/tokenizer.model when it exists; "" otherwise (GGUF carries its vocab).
  std::string tokenizer_model_path() const;

  // Tensors under HF names. GGUF q/k weights are copies converted to rotate-half order; every
  // other tensor is a view into the mapped file. GGUF tensors outside the LLaMA set keep their
  // GGUF name.
  bool has(const std::string& name) const;
  Tensor tensor(const std::string& name) const;  // InputError "missing tensor 'x' in <path>"
  // Also checks the shape: InputError "tensor 'x' in <file>: expected shape [..], found [..]".
  Tensor tensor(const std::string& name, std::initializer_list<int64_t> expected_shape) const;
  Tensor tensor(const std::string& name, const std::vector<int64_t>& expected_shape) const;
  std::vector<std::string> tensor_names() const;  // sorted
  // The file a tensor comes from (a shard, the GGUF), for messages.
  std::string file_of(const std::string& name) const;
  // dtype of the projection weights as stored (that of layer 0's q_proj).
  DType weight_dtype() const;

 private:
  ModelFiles() = default;
  void open_hf_dir();
  void open_gguf();
  std::vector<int64_t> stored_shape(const std::string& name) const;

  std::string path_;
  LlamaConfig config_;
  std::unique_ptr<TensorStore> store_;                 // HF directory (safetensors or .bin)
  std::unique_ptr<GgufFile> gguf_;                     // GGUF file
  std::map<std::string, std::string> gguf_names_;      // HF name -> GGUF name
  std::map<std::string, OwnedTensor> rotate_half_qk_;  // GGUF q/k converted to HF row order
  std::map<std::string, Tensor> shapes_;               // shapes_only: tensors without data
};

// Checks that `checkpoint` holds every weight of llama_expected_tensors(config) with that shape
// and a float dtype (f32/f16/bf16); throws InputError naming the first bad tensor.
void validate_llama_weights(const ModelFiles& files);

}  // namespace ll
