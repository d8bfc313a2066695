// A bump allocator for activations and kernel scratch. Memory is planned up front
// (reserve) and handed out in 64-byte-aligned pieces; mark()/release() free everything
// allocated after a mark. high_water() reports the peak bytes in use, which tests use to
// prove a kernel's scratch does not grow with sequence length.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/tensor.h"

namespace ll {

class Arena {
 public:
  explicit Arena(size_t reserve_bytes = 0);
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  void* alloc_bytes(size_t bytes);  // 64-byte aligned, uninitialised
  template <class T>
  T* alloc(int64_t n) {
    return static_cast<T*>(alloc_bytes(static_cast<size_t>(n) * sizeof(T)));
  }
  Tensor alloc_tensor(DType dtype, std::initializer_list<int64_t> shape);

  struct Mark {
    size_t block;
    size_t offset;
    size_t used;
  };
  Mark mark() const { return {current_, blocks_.empty() ? 0 : blocks_[current_].offset, used_}; }
  void release(const Mark& m);

  size_t used() const { return used_; }
  size_t high_water() const { return high_water_; }
  void reset_high_water() { high_water_ = used_; }

 private:
  struct Block {
    std::unique_ptr<uint8_t[], void (*)(uint8_t*)> mem{nullptr, nullptr};
    size_t size = 0;
    size_t offset = 0;
  };
  void add_block(size_t min_bytes);
  std::vector<Block> blocks_;
  size_t current_ = 0;
  size_t used_ = 0;
  size_t high_water_ = 0;
};

// Frees everything allocated after construction when it goes out of scope.
class ArenaScope {
 public:
  explicit ArenaScope(Arena& a) : arena_(a), mark_(a.mark()) {}
  ~ArenaScope() { arena_.release(mark_); }
  ArenaScope(const ArenaScope&) = delete;
  ArenaScope& operator=(const ArenaScope&) = delete;

 private:
  Arena& arena_;
  Arena::Mark mark_;
};

}  // namespace ll
