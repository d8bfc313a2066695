#include "dist/share.h"

#include <algorithm>

namespace ll {

Share share_of(int64_t n, int rank, int ranks) {
  const int64_t base = n / ranks, extra = n % ranks;
  Share s;
  s.begin = rank * base + std::min<int64_t>(rank, extra);
  s.end = s.begin + base + (rank < extra ? 1 : 0);
  return s;
}

Share buffer_shard(int64_t elements, int rank, int ranks) {
  const Share blocks = share_of(elements / kShardAlign, rank, ranks);
  return {blocks.begin * kShardAlign, blocks.end * kShardAlign};
}

}  // namespace ll
