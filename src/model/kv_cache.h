// Keys and values of the tokens seen so far, per layer, for incremental decoding.
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "formats/llama_config.h"
#include "kernels/attention/attention.h"

namespace ll {

class KVCache {
 public:
  // Room for `capacity` tokens of one sequence: per layer k and v [capacity, Hkv, D] f32, in `memory`
  // (the model's backend).
  KVCache(const LlamaConfig& config, int64_t capacity, MemoryResource& memory);

  int64_t capacity() const { return capacity_; }
  int64_t length() const { return length_; }  // tokens stored
  void set_length(int64_t n);                  // after appending, or to truncate (n ≤ capacity)
  void clear() { length_ = 0; }

  HeadsView keys(int64_t layer) const;    // [1, capacity, Hkv, D]
  HeadsView values(int64_t layer) const;  // [1, capacity, Hkv, D]
  float* key_row(int64_t layer, int64_t pos) const;    // [Hkv·D] of token pos
  float* value_row(int64_t layer, int64_t pos) const;

  size_t bytes() const;

 private:
  int64_t capacity_, length_ = 0, row_floats_;
  std::vector<OwnedTensor> k_, v_;
};

}  // namespace ll
