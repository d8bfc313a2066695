// A set of named tensors from one safetensors file or a sharded HF directory.
#pragma once
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "formats/safetensors.h"

namespace ll {

class TensorStore {
 public:
  // An HF model directory: `model.safetensors`, else `model.safetensors.index.json` whose
  // weight_map names the shard of every tensor (both in the same directory).
  static TensorStore open_hf_dir(const std::string& dir);
  // Any single safetensors file (adapters, one shard).
  static TensorStore open_file(const std::string& path);

  // Where the tensors come from: the directory or the file opened.
  const std::string& source() const { return source_; }
  bool has(const std::string& name) const { return location_.count(name) != 0; }
  // InputError "missing tensor 'x' in <source>" when absent; dtype errors name the shard file.
  Tensor get(const std::string& name) const;
  // Also checks the shape: InputError "tensor 'x' in <file>: expected shape [..], found [..]".
  Tensor get(const std::string& name, std::initializer_list<int64_t> expected_shape) const;
  Tensor get(const std::string& name, const std::vector<int64_t>& expected_shape) const;
  const TensorEntry& entry(const std::string& name) const;  // same errors as get()
  std::vector<std::string> names() const;                   // sorted
  std::string file_of(const std::string& name) const;       // path of the file holding it
  // The __metadata__ of the (first) file.
  const std::map<std::string, std::string>& metadata() const { return files_.front()->metadata(); }

 private:
  TensorStore() = default;
  const SafetensorsFile& file_holding(const std::string& name) const;  // InputError when absent
  std::string source_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const SafetensorsFile*> location_;  // tensor name -> file holding it
};

}  // namespace ll
