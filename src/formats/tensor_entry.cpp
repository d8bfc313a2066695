#include "formats/tensor_entry.h"

namespace ll {

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t d = 0; d < shape.size(); ++d) s += (d ? ", " : "") + std::to_string(shape[d]);
  return s + "]";
}

bool element_count_fits(const std::vector<int64_t>& shape) {
  int64_t elements = 1;
  for (const int64_t n : shape)
    if (__builtin_mul_overflow(elements, n, &elements)) return false;
  return true;
}

Tensor entry_view(const TensorEntry& entry, const std::string& file) {
  LL_CHECK(entry.supported);
  if (entry.shape.size() > static_cast<size_t>(kMaxDims))
    fail_input(file, "tensor '" + entry.name + "' has " + std::to_string(entry.shape.size()) +
                         " dimensions; at most " + std::to_string(kMaxDims) + " are supported");
  Tensor t;
  t.data = const_cast<uint8_t*>(entry.data);
  t.dtype = entry.dtype;
  if (entry.shape.empty()) {
    t.ndim = 1;
    t.shape[0] = 1;
    t.stride[0] = 1;
    return t;
  }
  t.ndim = static_cast<int>(entry.shape.size());
  int64_t stride = 1;
  for (int d = t.ndim - 1; d >= 0; --d) {
    t.shape[d] = entry.shape[d];
    t.stride[d] = stride;
    stride *= entry.shape[d];
  }
  return t;
}

}  // namespace ll
