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

bool takes_weight_decay(const std::string& name) {
  // name = "<module path>.<parameter>"; the module's own name is the path's last component.
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos) return true;
  if (name.substr(dot + 1) == "bias") return false;
  const std::string module = name.substr(0, dot);
  return !module.substr(module.rfind('.') + 1).ends_with("norm");  // rfind: npos + 1 = 0, the whole path
}

size_t TrainableStore::declare(const std::string& name, const int64_t* shape, int ndim) {
  LL_CHECK(!allocated() && ndim >= 1 && ndim <= kMaxDims);
  for (const Slot& s : slots_) LL_CHECK(s.name != name);
  Slot s;
  s.name = name;
  s.decays = takes_weight_decay(name);
  s.ndim = ndim;
  std::copy(shape, shape + ndim, s.shape);
  slots_.push_back(s);
  return slots_.size() - 1;
}

void TrainableStore::allocate(MemoryResource& memory) {
  LL_CHECK(!allocated());
  // Offsets: the decaying group first, then the rest, each in declaration order.
  elements_ = 0;
  for (bool group : {true, false}) {
    for (Slot& s : slots_) {
      if (s.decays != group) continue;
      s.offset = elements_;
      elements_ += (s.numel() + kAlignFloats - 1) / kAlignFloats * kAlignFloats;
    }
    if (group) decaying_elements_ = elements_;
  }
  memory_ = &memory;
  const int64_t n = std::max<int64_t>(elements_, 1);
  values_ = OwnedTensor(memory, DType::F32, {n});
  grads_ = OwnedTensor(memory, DType::F32, {n});
}

void TrainableStore::allocate_moments() { allocate_moments(0, elements_); }

void TrainableStore::allocate_moments(int64_t begin, int64_t end) {
  LL_CHECK(allocated());
  LL_CHECK(0 <= begin && begin <= end && end <= elements_ && begin % kAlignFloats == 0 && end % kAlignFloats == 0);
  if (has_moments()) {
    LL_CHECK(begin == moments_begin_ && end == moments_end_);
    return;
  }
  moments_begin_ = begin;
  moments_end_ = end;
  const int64_t n = std::max<int64_t>(end - begin, 1);
  m_ = OwnedTensor(*memory_, DType::F32, {n});
  v_ = OwnedTensor(*memory_, DType::F32, {n});
}

Tensor TrainableStore::m(size_t i) const {
  LL_CHECK(!moments_sharded());
  return view(m_, i);
}

Tensor TrainableStore::v(size_t i) const {
  LL_CHECK(!moments_sharded());
  return view(v_, i);
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

}  // namespace ll
