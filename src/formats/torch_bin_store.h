// The tensors of an HF model directory saved by torch.save: pytorch_model.bin, or shards named by
// pytorch_model.bin.index.json (weight_map: tensor name -> shard file in the same directory).
// The same interface and error messages as TensorStore (formats/tensor_store.h).
#pragma once
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "formats/torch_bin.h"

namespace ll {

class TorchBinStore {
 public:
  // `dir`/pytorch_model.bin, else `dir`/pytorch_model.bin.index.json and its shards.
  static TorchBinStore open_hf_dir(const std::string& dir);
  // One .bin file (an adapter, trainable_params.bin, a shard).
  static TorchBinStore open_file(const std::string& path);

  const std::string& source() const { return source_; }  // the directory or file opened
  bool has(const std::string& name) const { return location_.count(name) != 0; }
  // InputError "missing tensor 'x' in <source>" when absent; dtype errors name the shard file.
  Tensor get(const std::string& name) const;
  // Also checks the shape: InputError "tensor 'x' in <file>: expected shape [..], found [..]".
  Tensor get(const std::string& name, std::initializer_list<int64_t> expected_shape) const;
  Tensor get(const std::string& name, const std::vector<int64_t>& expected_shape) const;
  const TensorEntry& entry(const std::string& name) const;  // same errors as get()
  std::vector<std::string> names() const;                   // sorted
  std::string file_of(const std::string& name) const;       // path of the file holding it

 private:
  TorchBinStore() = default;
  const TorchBinFile& file_holding(const std::string& name) const;  // InputError when absent
  std::string source_;
  std::vector<std::unique_ptr<TorchBinFile>> files_;
  std::map<std::string, const TorchBinFile*> location_;  // tensor name -> file holding it
};

}  // namespace ll
