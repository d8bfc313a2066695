// numpy's legacy RandomState for integer seeds — MT19937 seeded by init_genrand, randint by masked
// rejection on 32-bit draws — so the passkey prompts are the very ones LongLoRA's
// passkey_retrivial.py builds (it uses `from numpy import random`) for the same seeds.
#pragma once
#include <array>
#include <cstdint>

namespace ll {

class NumpyLegacyRandom {
 public:
  explicit NumpyLegacyRandom(uint32_t seed);  // numpy.random.seed(seed)
  uint32_t next_uint32();
  // numpy.random.randint(low, high): uniform in [low, high), high − low ≤ 2^32.
  int64_t randint(int64_t low, int64_t high);

 private:
  std::array<uint32_t, 624> mt_{};
  int index_ = 624;
};

}  // namespace ll
