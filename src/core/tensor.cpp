#include "core/tensor.h"

#include <algorithm>
#include <cstring>

namespace ll {

Tensor Tensor::view(void* data, DType dtype, std::initializer_list<int64_t> shape) {
  LL_CHECK(shape.size() >= 1 && shape.size() <= kMaxDims);
  Tensor t;
  t.data = data;
  t.dtype = dtype;
  t.ndim = static_cast<int>(shape.size());
  int i = 0;
  for (int64_t s : shape) t.shape[i++] = s;
  int64_t st = 1;
  for (int d = t.ndim - 1; d >= 0; --d) {
    t.stride[d] = st;
    st *= t.shape[d];
  }
  return t;
}

int64_t Tensor::numel() const {
  if (ndim == 0) return 0;
  int64_t n = 1;
  for (int d = 0; d < ndim; ++d) n *= shape[d];
  return n;
}

bool Tensor::is_contiguous() const {
  int64_t st = 1;
  for (int d = ndim - 1; d >= 0; --d) {
    if (shape[d] != 1 && stride[d] != st) return false;
    st *= shape[d];
  }
  return true;
}

Tensor Tensor::rows(int64_t begin, int64_t end) const {
  LL_CHECK(ndim >= 1 && 0 <= begin && begin <= end && end <= shape[0]);
  Tensor t = *this;
  t.data = static_cast<char*>(data) + begin * stride[0] * static_cast<int64_t>(dtype_size(dtype));
  t.shape[0] = end - begin;
  return t;
}

Tensor Tensor::reshape(std::initializer_list<int64_t> new_shape) const {
  LL_CHECK(is_contiguous());
  Tensor t = view(data, dtype, new_shape);
  LL_CHECK(t.numel() == numel());
  return t;
}

bool Tensor::same_shape(const Tensor& o) const {
  if (ndim != o.ndim) return false;
  for (int d = 0; d < ndim; ++d)
    if (shape[d] != o.shape[d]) return false;
  return true;
}

std::string Tensor::shape_str() const {
  std::string s = "[";
  for (int d = 0; d < ndim; ++d) s += (d ? ", " : "") + std::to_string(shape[d]);
  return s + "]";
}

OwnedTensor::OwnedTensor(MemoryResource& memory, DType dtype, std::initializer_list<int64_t> shape)
    : OwnedTensor(memory, dtype, shape.begin(), static_cast<int>(shape.size())) {}

OwnedTensor::OwnedTensor(MemoryResource& memory, DType dtype, const int64_t* shape, int ndim) {
  LL_CHECK(ndim >= 1 && ndim <= kMaxDims);
  view_.device = memory.device();
  view_.dtype = dtype;
  view_.ndim = ndim;
  int64_t st = 1;
  for (int d = ndim - 1; d >= 0; --d) {
    LL_CHECK(shape[d] >= 0);
    view_.shape[d] = shape[d];
    view_.stride[d] = st;
    st *= shape[d];
  }
  const size_t bytes = aligned_size(std::max<size_t>(view_.nbytes(), 1));
  void* p = memory.allocate(bytes);
  memory.fill_zero(p, bytes);
  mem_ = std::unique_ptr<void, Free>(p, Free{&memory, bytes});
  view_.data = p;
}

OwnedTensor OwnedTensor::copy_of(const Tensor& t) {
  LL_CHECK(t.is_contiguous() && t.device == Device::Host);
  OwnedTensor o(t.dtype, t.shape, t.ndim);
  std::memcpy(o.data(), t.data, t.nbytes());
  return o;
}

}  // namespace ll
