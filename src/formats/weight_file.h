// A file of named tensors whatever its format: safetensors (read by mmap) or a PyTorch .bin
// (torch.save zip, read by the no-code pickle subset). Adapters, trainable weights and models are
// published in both.
#pragma once
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace ll {

class WeightFile {
 public:
  virtual ~WeightFile() = default;
  // By content: safetensors, or a torch.save zip. InputError naming the file otherwise.
  static std::unique_ptr<WeightFile> open(const std::string& path);

  virtual const std::string& path() const = 0;
  virtual bool has(const std::string& name) const = 0;
  // InputError "missing tensor 'x' in <file>" when absent.
  virtual Tensor get(const std::string& name) const = 0;
  virtual std::vector<std::string> names() const = 0;  // sorted
  // get() plus a shape check: InputError "tensor 'x' in <file>: expected shape [..], found [..]".
  Tensor get(const std::string& name, const std::vector<int64_t>& expected_shape) const;
};

// The first of dir/<stem>.safetensors, dir/<stem>.bin that exists; "" when neither does.
std::string find_weight_file(const std::string& dir, const std::string& stem);

}  // namespace ll
