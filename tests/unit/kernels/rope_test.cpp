#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/rope.h"
#include "support/test_support.h"
#include "unit/kernels/grad_check.h"

namespace ll {
namespace {

using test::random_floats;

// A [T, n_heads, D] block at column offset `offset` of rows `stride` floats wide, as q or k inside
// a fused qkv projection output.
struct Layout {
  int64_t T;
  int n_heads, head_dim;
  int64_t stride, offset;
  size_t floats() const { return static_cast<size_t>(T * stride); }
  int64_t index(int64_t t, int h, int d) const { return t * stride + offset + int64_t{h} * head_dim + d; }
};

// out = R(p)·x per head, in double, with the table's cos/sin (sign −1: the transpose).
std::vector<double> reference_rotate(const std::vector<double>& x, const Layout& L, const std::vector<int32_t>& pos,
                                     const RopeTable& table, double sign = 1) {
  std::vector<double> y = x;
  const int half = L.head_dim / 2;
  for (int64_t t = 0; t < L.T; ++t)
    for (int h = 0; h < L.n_heads; ++h)
      for (int i = 0; i < half; ++i) {
        const double c = table.cos(pos[t])[i], s = sign * table.sin(pos[t])[i];
        const double a = x[L.index(t, h, i)], b = x[L.index(t, h, i + half)];
        y[L.index(t, h, i)] = a * c - b * s;
        y[L.index(t, h, i + half)] = b * c + a * s;
      }
  return y;
}

std::vector<int32_t> random_positions(int64_t T, int32_t max, std::mt19937& rng) {
  std::uniform_int_distribution<int32_t> dist(0, max - 1);
  std::vector<int32_t> pos(T);
  for (auto& p : pos) p = dist(rng);
  return pos;
}

// At small positions (where f32 angles are nearly exact) the table equals the exact
// cos/sin((p / factor)·theta^(−2i/D)).
TEST(Rope, TableMatchesExactAnglesAtSmallPositions) {
  for (double factor : {1.0, 2.5, 8.0}) {
    const int D = 128;
    const RopeTable table(D, 10000.0, factor, 64);
    double max_err = 0;
    for (int64_t p = 0; p < 64; ++p)
      for (int i = 0; i < D / 2; ++i) {
        const double angle = (p / factor) * std::pow(10000.0, -2.0 * i / D);
        max_err = std::max({max_err, std::fabs(table.cos(p)[i] - std::cos(angle)),
                            std::fabs(table.sin(p)[i] - std::sin(angle))});
      }
    EXPECT_LT(max_err, 1e-5) << "factor " << factor;
  }
}

// Llama 3.1's frequency-dependent scaling (8B: D 128, theta 5e5, factor 8, low/high freq factors 1/4,
// original context 8192) against the formula in double: wavelengths below 8192/4 keep their frequency
// exactly, those above 8192/1 are divided by 8 exactly (one f32 division), those between follow the
// smooth interpolation within f32 rounding; and the table built from them rotates by p · inv_freq.
TEST(Rope, Llama3FrequenciesMatchTheFormula) {
  const int D = 128;
  const double theta = 500000.0, factor = 8, low = 1, high = 4, original = 8192;
  const std::vector<float> inv = rope_inv_freq(D, theta);
  const std::vector<float> scaled = llama3_inv_freq(inv, factor, low, high, original);
  ASSERT_EQ(scaled.size(), static_cast<size_t>(D / 2));
  int bands[3] = {0, 0, 0};
  for (int i = 0; i < D / 2; ++i) {
    const double wavelen = 2 * M_PI / inv[i];
    if (wavelen < original / high) {
      ++bands[0];
      EXPECT_EQ(scaled[i], inv[i]) << "high frequency " << i;
    } else if (wavelen > original / low) {
      ++bands[2];
      EXPECT_EQ(scaled[i], inv[i] / 8.0f) << "low frequency " << i;
    } else {
      ++bands[1];
      const double s = (original / wavelen - low) / (high - low);
      const double want = (1 - s) * inv[i] / factor + s * inv[i];
      EXPECT_NEAR(scaled[i], want, 1e-6 * want) << "medium frequency " << i;
      EXPECT_GT(scaled[i], inv[i] / 8.0f);
      EXPECT_LT(scaled[i], inv[i]);
    }
  }
  EXPECT_GT(bands[0], 0);
  EXPECT_GT(bands[1], 0);
  EXPECT_GT(bands[2], 0);
  const RopeTable table(scaled, 1.0, 5000);
  for (int64_t p : {1, 77, 4999})
    for (int i = 0; i < D / 2; i += 9) {
      const float angle = static_cast<float>(p) * scaled[i];
      EXPECT_EQ(table.cos(p)[i], static_cast<float>(std::cos(static_cast<double>(angle))));
      EXPECT_EQ(table.sin(p)[i], static_cast<float>(std::sin(static_cast<double>(angle))));
    }
}

// Forward on a strided block: every head rotated as the double reference says, the columns outside
// the block untouched.
TEST(Rope, ForwardMatchesDoubleReferenceOnStridedBlock) {
  std::mt19937 rng(1);
  const Layout L{.T = 37, .n_heads = 3, .head_dim = 18, .stride = 3 * 18 + 2 * 2 * 18 + 5, .offset = 3 * 18};
  const RopeTable table(L.head_dim, 10000.0, 4.0, 5000);
  const std::vector<int32_t> pos = random_positions(L.T, 5000, rng);
  const std::vector<float> x = random_floats(L.floats(), rng);
  std::vector<float> y = x;
  rope_forward(y.data() + L.offset, pos.data(), L.T, L.n_heads, L.head_dim, L.stride, table);
  test::expect_close(y.data(), reference_rotate(test::to_double(x), L, pos, table), 1e-6, 1e-7, "y");
  for (int64_t t = 0; t < L.T; ++t)
    for (int64_t c = 0; c < L.stride; ++c) {
      if (c >= L.offset && c < L.offset + L.n_heads * L.head_dim) continue;
      ASSERT_EQ(y[t * L.stride + c], x[t * L.stride + c]) << "outside the block: token " << t << ", column " << c;
    }
}

// L = Σ r·R(p)x: rope_backward(r) equals central differences of the double reference, and undoes
// the forward (rotations are orthogonal).
TEST(Rope, BackwardMatchesFiniteDifferences) {
  std::mt19937 rng(2);
  const Layout L{.T = 7, .n_heads = 2, .head_dim = 10, .stride = 23, .offset = 1};
  const RopeTable table(L.head_dim, 10000.0, 2.0, 300);
  const std::vector<int32_t> pos = random_positions(L.T, 300, rng);
  const std::vector<float> x = random_floats(L.floats(), rng);
  std::vector<float> r = random_floats(L.floats(), rng);
  // Only the block takes part in L.
  for (int64_t t = 0; t < L.T; ++t)
    for (int64_t c = 0; c < L.stride; ++c)
      if (c < L.offset || c >= L.offset + L.n_heads * L.head_dim) r[t * L.stride + c] = 0;
  std::vector<float> dx = r;
  rope_backward(dx.data() + L.offset, pos.data(), L.T, L.n_heads, L.head_dim, L.stride, table);
  const std::vector<double> rd = test::to_double(r);
  auto loss = [&](const std::vector<double>& xv) { return test::dot(rd, reference_rotate(xv, L, pos, table)); };
  test::expect_close(dx.data(), test::numeric_gradient(test::to_double(x), loss), 1e-5, 1e-6, "dx");

  std::vector<float> round_trip = x;
  rope_forward(round_trip.data() + L.offset, pos.data(), L.T, L.n_heads, L.head_dim, L.stride, table);
  rope_backward(round_trip.data() + L.offset, pos.data(), L.T, L.n_heads, L.head_dim, L.stride, table);
  test::expect_close(round_trip.data(), test::to_double(x), 0, 1e-6, "backward(forward(x))");
}

// Against HF's LlamaLinearScalingRotaryEmbedding + apply_rotary_pos_emb run by PyTorch
// (tests/reference/rope_oracle.py): LLaMA-2's head_dim 128 and theta 1e4, factor 8 (32k context),
// positions up to 100000.
TEST(Rope, MatchesHuggingFaceAtLongPositions) {
  LL_REQUIRE_TORCH();
  std::mt19937 rng(3);
  const int H = 3, D = 128;
  const double theta = 10000.0, factor = 8.0;
  std::vector<int32_t> pos = random_positions(200, 100001, rng);
  pos[0] = 0, pos[1] = 1, pos[2] = 99999, pos[3] = 100000, pos[4] = 65536;
  const int64_t T = static_cast<int64_t>(pos.size());
  const std::vector<float> x = random_floats(T * H * D, rng, -2.f, 2.f);

  test::TempDir dir;
  test::write_file(dir.file("x.f32"), std::string(reinterpret_cast<const char*>(x.data()), x.size() * 4));
  test::write_file(dir.file("pos.i32"), std::string(reinterpret_cast<const char*>(pos.data()), pos.size() * 4));
  ASSERT_TRUE(test::run_oracle("rope_oracle.py", {dir.file("x.f32"), dir.file("pos.i32"), dir.file("out.f32"),
                                                  std::to_string(T), std::to_string(H), std::to_string(D), "10000",
                                                  "8"}));
  const std::string out = test::read_file(dir.file("out.f32"));
  ASSERT_EQ(out.size(), static_cast<size_t>(T * H * D + 2 * T * D) * 4);
  std::vector<float> hf(out.size() / 4);
  std::memcpy(hf.data(), out.data(), out.size());
  const float* hf_y = hf.data();
  const float* hf_cos = hf_y + T * H * D;
  const float* hf_sin = hf_cos + T * D;

  const RopeTable table(D, theta, factor, 100001);
  double table_err = 0;
  int64_t table_ulp = 0;
  for (int64_t t = 0; t < T; ++t)
    for (int i = 0; i < D; ++i) {  // HF's caches repeat the D/2 angles: cat(freqs, freqs)
      const float c = table.cos(pos[t])[i % (D / 2)], s = table.sin(pos[t])[i % (D / 2)];
      table_err = std::max({table_err, std::fabs(double{c} - hf_cos[t * D + i]),
                            std::fabs(double{s} - hf_sin[t * D + i])});
      table_ulp = std::max({table_ulp, test::ulp_distance(c, hf_cos[t * D + i]),
                            test::ulp_distance(s, hf_sin[t * D + i])});
    }
  std::vector<float> y = x;
  rope_forward(y.data(), pos.data(), T, H, D, H * D, table);
  double y_err = 0;
  int64_t identical = 0;
  for (int64_t k = 0; k < T * H * D; ++k) {
    y_err = std::max(y_err, std::fabs(double{y[k]} - hf_y[k]));
    identical += y[k] == hf_y[k];
  }
  std::printf("RoPE vs HF (D %d, theta %g, factor %g, positions to 100000): cos/sin max error %.3g (%lld ulp), "
              "output max error %.3g, %.2f%% of outputs bit-identical\n",
              D, theta, factor, table_err, static_cast<long long>(table_ulp), y_err,
              100.0 * identical / static_cast<double>(T * H * D));
  EXPECT_LE(table_ulp, 1);
  EXPECT_LT(y_err, 1e-6);  // |x| ≤ 2: a 1-ulp table difference moves an output by ≤ 2·6e-8 per term
}

}  // namespace
}  // namespace ll
