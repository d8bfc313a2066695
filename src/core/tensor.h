// Tensor views and owned tensors.
//
// A Tensor is a non-owning view: data pointer, where that memory lives (the host, or a backend's
// device), dtype, up to 4 dims and strides in elements. Ops take views (or raw pointers for f32
// activations); they never allocate the tensors they are given. OwnedTensor holds 64-byte-aligned
// memory from a MemoryResource (core/memory.h: the host heap by default, a device, or a measuring
// resource); activations come from an Arena (core/arena.h).
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <type_traits>

#include "core/dtype.h"
#include "core/error.h"
#include "core/memory.h"

namespace ll {

constexpr int kMaxDims = 4;

struct Tensor {
  void* data = nullptr;
  Device device = Device::Host;
  DType dtype = DType::F32;
  int ndim = 0;
  int64_t shape[kMaxDims] = {0, 0, 0, 0};
  int64_t stride[kMaxDims] = {0, 0, 0, 0};  // in elements

  // A row-major contiguous view of `data`.
  static Tensor view(void* data, DType dtype, std::initializer_list<int64_t> shape);
  static Tensor view(const void* data, DType dtype, std::initializer_list<int64_t> shape) {
    return view(const_cast<void*>(data), dtype, shape);
  }

  int64_t numel() const;
  int64_t size(int d) const { return shape[d]; }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype); }
  bool is_contiguous() const;
  bool empty() const { return data == nullptr; }

  // Typed pointer; checks that T matches dtype (uint16_t for f16/bf16).
  template <class T>
  T* as() const;

  // Rows [begin, end) of dim 0.
  Tensor rows(int64_t begin, int64_t end) const;
  // Same data with a new contiguous shape of equal numel (requires contiguity).
  Tensor reshape(std::initializer_list<int64_t> shape) const;

  bool same_shape(const Tensor& o) const;
  std::string shape_str() const;  // "[4, 64]"
};

// An aligned, contiguous, zero-filled tensor from a MemoryResource (the host heap unless given).
// Move-only.
class OwnedTensor {
 public:
  OwnedTensor() = default;
  OwnedTensor(DType dtype, std::initializer_list<int64_t> shape) : OwnedTensor(host_memory(), dtype, shape) {}
  OwnedTensor(DType dtype, const int64_t* shape, int ndim) : OwnedTensor(host_memory(), dtype, shape, ndim) {}
  OwnedTensor(MemoryResource& memory, DType dtype, std::initializer_list<int64_t> shape);
  OwnedTensor(MemoryResource& memory, DType dtype, const int64_t* shape, int ndim);
  static OwnedTensor copy_of(const Tensor& t);  // contiguous host copy of a host tensor, same dtype

  const Tensor& view() const { return view_; }
  void* data() const { return view_.data; }
  template <class T>
  T* as() const { return view_.as<T>(); }
  int64_t numel() const { return view_.numel(); }
  bool empty() const { return view_.data == nullptr; }

 private:
  struct Free {
    Free() : memory(nullptr), bytes(0) {}
    Free(MemoryResource* m, size_t b) : memory(m), bytes(b) {}
    void operator()(void* p) const { memory->deallocate(p, bytes); }
    MemoryResource* memory;
    size_t bytes;
  };
  std::unique_ptr<void, Free> mem_;
  Tensor view_;
};

template <class T>
T* Tensor::as() const {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, const float>) {
    LL_CHECK(dtype == DType::F32);
  } else if constexpr (std::is_same_v<T, int32_t> || std::is_same_v<T, const int32_t>) {
    LL_CHECK(dtype == DType::I32);
  } else if constexpr (std::is_same_v<T, uint16_t> || std::is_same_v<T, const uint16_t>) {
    LL_CHECK(dtype == DType::F16 || dtype == DType::BF16);
  } else {
    static_assert(sizeof(T) == 0, "unsupported element type");
  }
  return static_cast<T*>(data);
}

}  // namespace ll
