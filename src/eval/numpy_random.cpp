#include "eval/numpy_random.h"

#include "core/error.h"

namespace ll {

NumpyLegacyRandom::NumpyLegacyRandom(uint32_t seed) {
  mt_[0] = seed;
  for (int i = 1; i < 624; ++i) mt_[i] = 1812433253u * (mt_[i - 1] ^ (mt_[i - 1] >> 30)) + static_cast<uint32_t>(i);
  index_ = 624;
}

uint32_t NumpyLegacyRandom::next_uint32() {
  constexpr uint32_t kUpper = 0x80000000u, kLower = 0x7fffffffu, kMatrix = 0x9908b0dfu;
  if (index_ >= 624) {
    for (int k = 0; k < 624; ++k) {
      const uint32_t y = (mt_[k] & kUpper) | (mt_[(k + 1) % 624] & kLower);
      mt_[k] = mt_[(k + 397) % 624] ^ (y >> 1) ^ ((y & 1u) ? kMatrix : 0u);
    }
    index_ = 0;
  }
  uint32_t y = mt_[index_++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  y ^= y >> 18;
  return y;
}

int64_t NumpyLegacyRandom::randint(int64_t low, int64_t high) {
  LL_CHECK(high > low && high - low <= (int64_t{1} << 32));
  const uint64_t range = static_cast<uint64_t>(high - low - 1);  // inclusive span
  if (range == 0) return low;
  uint64_t mask = range;  // smallest 2^k − 1 ≥ range
  for (int s = 1; s < 64; s <<= 1) mask |= mask >> s;
  uint64_t v;
  do {
    v = next_uint32() & mask;
  } while (v > range);
  return low + static_cast<int64_t>(v);
}

}  // namespace ll
