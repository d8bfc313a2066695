#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/half.h"

namespace ll {
namespace {

// Exhaustive: every f16 bit pattern converts to f32 and back unchanged (NaNs stay NaN).
TEST(Half, F16RoundTripsEveryPattern) {
  std::vector<uint16_t> all(65536);
  for (int i = 0; i < 65536; ++i) all[i] = static_cast<uint16_t>(i);
  std::vector<float> f(65536);
  f16_to_f32(f.data(), all.data(), 65536);
  std::vector<uint16_t> back(65536);
  f32_to_f16(back.data(), f.data(), 65536);
  for (int i = 0; i < 65536; ++i) {
    const float scalar = f16_to_f32(all[i]);
    if (std::isnan(scalar))  // F16C quiets signalling NaNs; the payload may differ
      EXPECT_TRUE(std::isnan(f[i])) << i;
    else  // vector path equals scalar path, bit for bit
      EXPECT_EQ(std::memcmp(&f[i], &scalar, 4), 0) << i;
    if (std::isnan(f[i])) {
      EXPECT_TRUE(std::isnan(f16_to_f32(back[i])));
    } else {
      EXPECT_EQ(back[i], all[i]) << i;
    }
  }
}

TEST(Half, F16KnownValues) {
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xc000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);  // rounds to inf
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // tie to even
  EXPECT_EQ(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);  // half of smallest subnormal: to even
  EXPECT_EQ(f32_to_f16(std::ldexp(1.5f, -25)), 0x0001);
}

// f32 -> f16 on random values: vector path equals scalar path, and the error is within half an ulp.
TEST(Half, F16RandomValuesRoundToNearest) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> exp_dist(-26, 16);
  std::vector<float> x(10007);
  for (auto& v : x) v = std::ldexp(std::uniform_real_distribution<float>(1, 2)(rng), static_cast<int>(exp_dist(rng))) * (rng() % 2 ? 1 : -1);
  std::vector<uint16_t> h(x.size());
  f32_to_f16(h.data(), x.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    ASSERT_EQ(h[i], f32_to_f16(x[i]));
    const float back = f16_to_f32(h[i]);
    const float next = f16_to_f32(static_cast<uint16_t>(h[i] + 1));
    const float prev = f16_to_f32(static_cast<uint16_t>(h[i] - 1));
    if ((h[i] & 0x7fff) != 0 && (h[i] & 0x7fff) < 0x7bff) {
      EXPECT_LE(std::fabs(x[i] - back), std::fabs(x[i] - next));
      EXPECT_LE(std::fabs(x[i] - back), std::fabs(x[i] - prev));
    }
  }
}

TEST(Half, Bf16RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  EXPECT_EQ(f32_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);      // tie -> even
  EXPECT_EQ(f32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);  // tie -> even (up)
  EXPECT_EQ(f32_to_bf16(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)), 0x3f81);
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::infinity()), 0x7f80);
}

TEST(Half, Bf16BulkMatchesScalar) {
  std::mt19937 rng(2);
  std::normal_distribution<float> nd(0, 3);
  std::vector<float> x(1031);
  for (auto& v : x) v = nd(rng);
  x[5] = std::numeric_limits<float>::quiet_NaN();
  std::vector<uint16_t> h(x.size());
  f32_to_bf16(h.data(), x.data(), static_cast<int64_t>(x.size()));
  std::vector<float> back(x.size()), rounded(x.size());
  bf16_to_f32(back.data(), h.data(), static_cast<int64_t>(x.size()));
  round_to_bf16(rounded.data(), x.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    if (i == 5) {
      EXPECT_TRUE(std::isnan(back[i]) && std::isnan(rounded[i]));
      continue;
    }
    EXPECT_EQ(h[i], f32_to_bf16(x[i]));
    EXPECT_EQ(back[i], bf16_to_f32(h[i]));
    EXPECT_EQ(rounded[i], back[i]);
    EXPECT_LE(std::fabs(back[i] - x[i]), std::fabs(x[i]) * std::ldexp(1.0f, -8));
  }
}

}  // namespace
}  // namespace ll
