#include "core/arena.h"

#include <algorithm>

namespace ll {

namespace {
constexpr size_t kAlign = 64;
constexpr size_t kMinBlock = size_t{64} << 20;
size_t round_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }
}  // namespace

Arena::Arena(MemoryResource& memory, size_t reserve_bytes) : memory_(memory) {
  if (reserve_bytes) add_block(reserve_bytes);
}

Arena::~Arena() {
  for (Block& b : blocks_) memory_.deallocate(b.mem, b.size);
}

void Arena::add_block(size_t min_bytes) {
  Block b;
  b.size = round_up(std::max(min_bytes, kMinBlock));
  b.mem = static_cast<uint8_t*>(memory_.allocate(b.size));
  blocks_.push_back(b);
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
  void* p = b.mem + b.offset;
  b.offset += bytes;
  used_ += bytes;
  high_water_ = std::max(high_water_, used_);
  return p;
}

Tensor Arena::alloc_tensor(DType dtype, std::initializer_list<int64_t> shape) {
  Tensor t = Tensor::view(static_cast<void*>(nullptr), dtype, shape);
  t.data = alloc_bytes(t.nbytes());
  t.device = memory_.device();
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
