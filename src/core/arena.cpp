#include "core/arena.h"

#include <algorithm>
#include <cstdlib>
#include <new>

namespace ll {

namespace {
constexpr size_t kAlign = 64;
constexpr size_t kMinBlock = size_t{64} << 20;
size_t round_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }
void free_block(uint8_t* p) { std::free(p); }
}  // namespace

Arena::Arena(size_t reserve_bytes) {
  if (reserve_bytes) add_block(reserve_bytes);
}

void Arena::add_block(size_t min_bytes) {
  Block b;
  b.size = round_up(std::max(min_bytes, kMinBlock));
  auto* p = static_cast<uint8_t*>(std::aligned_alloc(kAlign, b.size));
  if (!p) throw std::bad_alloc();
  b.mem = std::unique_ptr<uint8_t[], void (*)(uint8_t*)>(p, free_block);
  blocks_.push_back(std::move(b));
}

void* Arena::alloc_bytes(size_t bytes) {
  bytes = round_up(std::max<size_t>(bytes, 1));
  if (blocks_.empty()) add_block(bytes);
  // Move to a later block with room, appending one if none has it.
  while (blocks_[current_].offset + bytes > blocks_[current_].size) {
    if (current_ + 1 == blocks_.size()) add_block(bytes);
    ++current_;
    blocks_[current_].offset = 0;
  }
  Block& b = blocks_[current_];
  void* p = b.mem.get() + b.offset;
  b.offset += bytes;
  used_ += bytes;
  high_water_ = std::max(high_water_, used_);
  return p;
}

Tensor Arena::alloc_tensor(DType dtype, std::initializer_list<int64_t> shape) {
  Tensor t = Tensor::view(static_cast<void*>(nullptr), dtype, shape);
  t.data = alloc_bytes(t.nbytes());
  return t;
}

void Arena::release(const Mark& m) {
  LL_CHECK(m.used <= used_);
  if (blocks_.empty()) return;
  current_ = m.block;
  blocks_[current_].offset = m.offset;
  used_ = m.used;
}

}  // namespace ll
