#include "model/trainable_store.h"

#include <algorithm>

#include "core/error.h"

namespace ll {

namespace {
constexpr int64_t kAlignFloats = 16;  // 64 bytes
}

int64_t TrainableStore::Slot::numel() const {
  int64_t n = 1;
  for (int d = 0; d < ndim; ++d) n *= shape[d];
  return n;
}

size_t TrainableStore::declare(const std::string& name, const int64_t* shape, int ndim) {
  LL_CHECK(!allocated() && ndim >= 1 && ndim <= kMaxDims);
  for (const Slot& s : slots_) LL_CHECK(s.name != name);
  Slot s;
  s.name = name;
  s.offset = elements_;
  s.ndim = ndim;
  std::copy(shape, shape + ndim, s.shape);
  elements_ += (s.numel() + kAlignFloats - 1) / kAlignFloats * kAlignFloats;
  slots_.push_back(s);
  return slots_.size() - 1;
}

void TrainableStore::allocate(MemoryResource& memory) {
  LL_CHECK(!allocated());
  memory_ = &memory;
  const int64_t n = std::max<int64_t>(elements_, 1);
  values_ = OwnedTensor(memory, DType::F32, {n});
  grads_ = OwnedTensor(memory, DType::F32, {n});
}

void TrainableStore::allocate_moments() {
  LL_CHECK(allocated());
  if (has_moments()) return;
  const int64_t n = std::max<int64_t>(elements_, 1);
  m_ = OwnedTensor(*memory_, DType::F32, {n});
  v_ = OwnedTensor(*memory_, DType::F32, {n});
}

Tensor TrainableStore::view(const OwnedTensor& buffer, size_t i) const {
  LL_CHECK(!buffer.empty() && i < slots_.size());
  const Slot& s = slots_[i];
  Tensor t = buffer.view();
  t.data = buffer.as<float>() + s.offset;
  t.ndim = s.ndim;
  int64_t stride = 1;
  for (int d = s.ndim - 1; d >= 0; --d) {
    t.shape[d] = s.shape[d];
    t.stride[d] = stride;
    stride *= s.shape[d];
  }
  for (int d = s.ndim; d < kMaxDims; ++d) t.shape[d] = t.stride[d] = 0;
  return t;
}

const TrainableStore::Slot* TrainableStore::slot_at(int64_t index) const {
  auto it = std::upper_bound(slots_.begin(), slots_.end(), index,
                             [](int64_t i, const Slot& s) { return i < s.offset; });
  if (it == slots_.begin()) return nullptr;
  --it;
  return index < it->offset + it->numel() ? &*it : nullptr;
}

}  // namespace ll
