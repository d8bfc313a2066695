// Named tensors from one file or a sharded HF directory, whatever the format: safetensors (mapped,
// formats/safetensors.h) or torch.save's ZIP (formats/torch_bin.h). Models, adapters and trainable
// weights are published in both; everything that reads named tensors from files reads them here.
#pragma once
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "formats/tensor_entry.h"

namespace ll {

class TensorStore {
 public:
  // One file read from a store: a safetensors file or a torch.save archive.
  class File {
   public:
    virtual ~File() = default;
    virtual const std::string& path() const = 0;
    virtual std::vector<std::string> names() const = 0;
    virtual bool has(const std::string& name) const = 0;
    virtual const TensorEntry& entry(const std::string& name) const = 0;  // the name is in names()
    virtual Tensor tensor(const std::string& name) const = 0;  // InputError naming an unreadable dtype
  };

  // An HF model directory: model.safetensors, else model.safetensors.index.json (its weight_map
  // names the shard of every tensor, all in `dir`), else pytorch_model.bin, else
  // pytorch_model.bin.index.json — safetensors first, as transformers prefers it.
  static TensorStore open_hf_dir(const std::string& dir);
  // One file, by content: a torch.save ZIP (or a legacy torch.save stream, refused by name),
  // else safetensors. InputError naming the file when it is neither.
  static TensorStore open_file(const std::string& path);

  TensorStore(TensorStore&&) noexcept;
  TensorStore& operator=(TensorStore&&) noexcept;
  ~TensorStore();

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

 private:
  TensorStore() = default;
  void add_file(std::unique_ptr<File> file);  // every tensor of `file`
  const File& file_holding(const std::string& name) const;  // InputError when absent
  std::string source_;
  std::vector<std::unique_ptr<File>> files_;
  std::map<std::string, const File*> location_;  // tensor name -> file holding it
};

// The first of dir/<stem>.safetensors, dir/<stem>.bin that exists; "" when neither does.
std::string find_weight_file(const std::string& dir, const std::string& stem);

}  // namespace ll
