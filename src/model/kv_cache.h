// Keys and values of the tokens seen so far, per layer, for incremental decoding.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/precision.h"
#include "core/tensor.h"
#include "formats/llama_config.h"
#include "kernels/attention/attention.h"

namespace ll {

// What the cache stores k and v in (`--kv-cache`): bf16 or f16 halve it against f32. The attention
// kernel widens them exactly; what is lost is the rounding of each k and v element when it is stored.
// At bf16 compute nothing is lost in bf16 (k and v are bf16 already: core/precision.h).
// The default is the compute precision's: bf16 at bf16 (every f16/bf16 checkpoint by default), f32 at f32.
DType default_kv_cache_dtype(Precision compute);
// Parses "bf16" / "f16" / "f32" (the --kv-cache flag); InputError naming `where` otherwise.
DType parse_kv_cache_dtype(const std::string& s, const std::string& where);

class KVCache {
 public:
  // Room for `capacity` tokens of one sequence: per layer k and v [capacity, Hkv, D] in `dtype`
  // (f32, bf16 or f16), in `memory` (the model's backend).
  KVCache(const LlamaConfig& config, int64_t capacity, MemoryResource& memory, DType dtype = DType::F32);

  int64_t capacity() const { return capacity_; }
  int64_t length() const { return length_; }  // tokens stored
  void set_length(int64_t n);                  // after appending, or to truncate (n ≤ capacity)
  void clear() { length_ = 0; }
  DType dtype() const { return dtype_; }

  HeadsView keys(int64_t layer) const;    // [1, capacity, Hkv, D]
  HeadsView values(int64_t layer) const;  // [1, capacity, Hkv, D]
  void* key_row(int64_t layer, int64_t pos) const;  // [Hkv·D] of token pos, in dtype()
  void* value_row(int64_t layer, int64_t pos) const;
  int64_t row_elements() const { return row_elements_; }  // Hkv·D

  size_t bytes() const;

 private:
  int64_t capacity_, length_ = 0, row_elements_;
  DType dtype_;
  std::vector<OwnedTensor> k_, v_;
};

}  // namespace ll
