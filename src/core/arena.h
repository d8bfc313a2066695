// A bump allocator for activations and kernel scratch, over a MemoryResource (the host heap, a
// device, or a measuring resource for the memory plan's dry runs). Memory is planned up front
// (reserve) and handed out in 64-byte-aligned pieces; mark()/release() free everything
// allocated after a mark. high_water() reports the peak bytes in use: the memory plan reads it
// after a dry run, and tests use it to prove a kernel's scratch does not grow with sequence length.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace ll {

class Arena {
 public:
  explicit Arena(size_t reserve_bytes = 0) : Arena(host_memory(), reserve_bytes) {}
  Arena(MemoryResource& memory, size_t reserve_bytes);
  ~Arena();
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
  MemoryResource& memory() const { return memory_; }
  void reset_high_water() { high_water_ = used_; }

 private:
  struct Block {
    uint8_t* mem = nullptr;  // from memory_, returned by ~Arena
    size_t size = 0;
    size_t offset = 0;
  };
  void add_block(size_t min_bytes);
  MemoryResource& memory_;
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
