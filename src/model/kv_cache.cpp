#include "model/kv_cache.h"

#include "core/error.h"

namespace ll {

DType default_kv_cache_dtype(Precision compute) { return compute == Precision::BF16 ? DType::BF16 : DType::F32; }

DType parse_kv_cache_dtype(const std::string& s, const std::string& where) {
  DType dtype;
  if (!parse_dtype(s, &dtype) || dtype == DType::I32) fail_expected(where, "--kv-cache", "bf16, f16 or f32", s);
  return dtype;
}

KVCache::KVCache(const LlamaConfig& config, int64_t capacity, MemoryResource& memory, DType dtype)
    : capacity_(capacity), row_elements_(config.kv_dim()), dtype_(dtype) {
  LL_CHECK(capacity > 0 && dtype != DType::I32);
  for (int64_t l = 0; l < config.num_layers; ++l) {
    k_.emplace_back(memory, dtype, std::initializer_list<int64_t>{capacity, row_elements_});
    v_.emplace_back(memory, dtype, std::initializer_list<int64_t>{capacity, row_elements_});
  }
}

void KVCache::set_length(int64_t n) {
  LL_CHECK(n >= 0 && n <= capacity_);
  length_ = n;
}

HeadsView KVCache::keys(int64_t layer) const {
  return {k_[static_cast<size_t>(layer)].data(), dtype_, capacity_ * row_elements_, row_elements_};
}

HeadsView KVCache::values(int64_t layer) const {
  return {v_[static_cast<size_t>(layer)].data(), dtype_, capacity_ * row_elements_, row_elements_};
}

void* KVCache::key_row(int64_t layer, int64_t pos) const {
  return static_cast<char*>(k_[static_cast<size_t>(layer)].data()) + pos * row_elements_ * dtype_size(dtype_);
}

void* KVCache::value_row(int64_t layer, int64_t pos) const {
  return static_cast<char*>(v_[static_cast<size_t>(layer)].data()) + pos * row_elements_ * dtype_size(dtype_);
}

size_t KVCache::bytes() const {
  return 2 * k_.size() * static_cast<size_t>(capacity_ * row_elements_) * dtype_size(dtype_);
}

}  // namespace ll
