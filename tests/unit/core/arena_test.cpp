#include <gtest/gtest.h>

#include <cstdint>

#include "core/arena.h"
#include "core/tensor.h"

namespace ll {
namespace {

TEST(Arena, AlignsAndTracksHighWater) {
  Arena a(1 << 20);
  float* p = a.alloc<float>(3);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
  const size_t after_first = a.used();
  {
    ArenaScope scope(a);
    a.alloc<float>(1000);
    EXPECT_GT(a.used(), after_first);
  }
  EXPECT_EQ(a.used(), after_first);
  EXPECT_GE(a.high_water(), after_first + 4000);
}

TEST(Arena, GrowsPastItsReserve) {
  Arena a(1024);
  auto* big = a.alloc<uint8_t>(100 << 20);
  big[(100 << 20) - 1] = 1;
  EXPECT_GE(a.high_water(), size_t{100} << 20);
}

TEST(Tensor, ViewsRowsAndReshape) {
  OwnedTensor t(DType::F32, {3, 5});
  EXPECT_TRUE(t.view().is_contiguous());
  EXPECT_EQ(t.numel(), 15);
  float* d = t.as<float>();
  for (int i = 0; i < 15; ++i) d[i] = static_cast<float>(i);
  Tensor r = t.view().rows(1, 3);
  EXPECT_EQ(r.shape[0], 2);
  EXPECT_EQ(r.as<float>()[0], 5.0f);
  Tensor flat = t.view().reshape({15});
  EXPECT_EQ(flat.shape_str(), "[15]");
  EXPECT_THROW(t.view().as<int32_t>(), std::logic_error);
}

}  // namespace
}  // namespace ll
