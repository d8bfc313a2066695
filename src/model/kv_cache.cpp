#include "model/kv_cache.h"

namespace ll {

KVCache::KVCache(const LlamaConfig& config, int64_t capacity, MemoryResource& memory)
    : capacity_(capacity), row_floats_(config.kv_dim()) {
  LL_CHECK(capacity > 0);
  for (int64_t l = 0; l < config.num_layers; ++l) {
    k_.emplace_back(memory, DType::F32, std::initializer_list<int64_t>{capacity, row_floats_});
    v_.emplace_back(memory, DType::F32, std::initializer_list<int64_t>{capacity, row_floats_});
  }
}

void KVCache::set_length(int64_t n) {
  LL_CHECK(n >= 0 && n <= capacity_);
  length_ = n;
}

HeadsView KVCache::keys(int64_t layer) const {
  return {k_[static_cast<size_t>(layer)].data(), DType::F32, capacity_ * row_floats_, row_floats_};
}

HeadsView KVCache::values(int64_t layer) const {
  return {v_[static_cast<size_t>(layer)].data(), DType::F32, capacity_ * row_floats_, row_floats_};
}

float* KVCache::key_row(int64_t layer, int64_t pos) const {
  return k_[static_cast<size_t>(layer)].as<float>() + pos * row_floats_;
}

float* KVCache::value_row(int64_t layer, int64_t pos) const {
  return v_[static_cast<size_t>(layer)].as<float>() + pos * row_floats_;
}

size_t KVCache::bytes() const { return 2 * k_.size() * static_cast<size_t>(capacity_ * row_floats_) * sizeof(float); }

}  // namespace ll
