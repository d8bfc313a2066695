// The ranks' layout (DESIGN.md §6): which items of a collective piece of work each rank computes.
// Data parallel training numbers an update's R·A micro-batches as one process with accumulation R·A
// would read them, and rank r computes the block [r·A, (r+1)·A); data parallel eval splits its rows
// or windows the same way. Every split of work over ranks is this one function.
#pragma once
#include <cstdint>

#include "dist/communicator.h"

namespace ll {

struct Share {
  int64_t begin = 0, end = 0;  // items [begin, end)
  bool contains(int64_t i) const { return i >= begin && i < end; }
  int64_t size() const { return end - begin; }
};

// Items [0, n) in contiguous blocks, rank by rank; the first n mod R ranks take one item more.
Share share_of(int64_t n, int rank, int ranks);
inline Share share_of(int64_t n, const Communicator& comm) { return share_of(n, comm.rank(), comm.ranks()); }

// A flat f32 buffer of `elements` (a multiple of kShardAlign) sharded over the ranks (ZeRO-1's
// optimizer state; Communicator::all_gather): share_of over its blocks of kShardAlign elements, in
// elements.
constexpr int64_t kShardAlign = 16;  // 64 bytes, the trainable store's alignment
Share buffer_shard(int64_t elements, int rank, int ranks);

}  // namespace ll
