// Memory: the kernel's scratch is its tiles, whatever the sequence length, and a 64k-token row runs
// forward and backward (S² with G = 1024, to stay fast) with spot checks against direct double computations.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/arena.h"
#include "core/half.h"
#include "core/threads.h"
#include "unit/attention/reference.h"

namespace ll {
namespace {

// Arena high-water mark of one forward + backward at length n.
size_t scratch_high_water(int64_t n, AttentionMode mode) {
  AttentionShape shape;
  shape.max_len = n;
  shape.q_heads = 2;
  shape.kv_heads = 1;
  shape.head_dim = 64;
  AttentionMask mask;
  mask.mode = mode;
  mask.s2_group = 256;
  const attn_test::Problem p = attn_test::random_problem(shape, mask, n);
  std::vector<float> q(p.q.begin(), p.q.end()), k(p.k.begin(), p.k.end()), v(p.v.begin(), p.v.end()),
      dout(p.dout.begin(), p.dout.end());
  std::vector<float> o(q.size()), lse(2 * n), dq(q.size()), dk(k.size()), dv(v.size());
  const AttentionQKV in{contiguous_heads(q.data(), DType::F32, n, 2, 64),
                        contiguous_heads(k.data(), DType::F32, n, 1, 64),
                        contiguous_heads(v.data(), DType::F32, n, 1, 64)};
  const AttentionQKV grads{contiguous_heads(dq.data(), DType::F32, n, 2, 64),
                           contiguous_heads(dk.data(), DType::F32, n, 1, 64),
                           contiguous_heads(dv.data(), DType::F32, n, 1, 64)};
  Arena arena;
  const HeadsView o_view = contiguous_heads(o.data(), DType::F32, n, 2, 64);
  attention_forward(shape, mask, in, o_view, lse.data(), arena);
  attention_backward(shape, mask, in, o_view, lse.data(), contiguous_heads(dout.data(), DType::F32, n, 2, 64), grads,
                     arena);
  EXPECT_EQ(arena.used(), 0u);
  return arena.high_water();
}

TEST(AttentionMemory, ScratchDependsOnTilesNotOnLength) {
  for (AttentionMode mode : {AttentionMode::Causal, AttentionMode::S2Shift, AttentionMode::S2Roll}) {
    SCOPED_TRACE(attention_mode_name(mode));
    const size_t short_row = scratch_high_water(700, mode);
    const size_t long_row = scratch_high_water(2900, mode);
    EXPECT_GT(short_row, 0u);
    EXPECT_EQ(short_row, long_row);
    EXPECT_LE(long_row, attention_scratch_bytes(64, num_threads()));
  }
}

// o, lse and dq of query t of head h, computed directly in double from the bf16 inputs: the keys of
// t's S² segment (shift layout) up to t.
struct RowCheck {
  double lse;
  std::vector<double> o, dq;
};

TEST(AttentionMemory, Runs64kTokensForwardAndBackward) {
  const int64_t N = 65536, H = 8, D = 64, G = 1024;
  AttentionShape shape;
  shape.max_len = N;
  shape.q_heads = H;
  shape.kv_heads = H;
  shape.head_dim = D;
  AttentionMask mask;
  mask.mode = AttentionMode::S2Shift;
  mask.s2_group = G;
  // bf16 inputs (a quarter of the f32 footprint), generated directly in their final layout.
  const size_t n = static_cast<size_t>(N * H * D);
  std::vector<uint16_t> q(n), k(n), v(n), dout(n);
  std::mt19937 rng(2024);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (auto* x : {&q, &k, &v, &dout})
    for (uint16_t& e : *x) e = f32_to_bf16(u(rng) * (x == &q || x == &k ? 2.0f : 1.0f));
  std::vector<float> o(n), lse(H * N), dq(n), dk(n), dv(n);
  auto bf16 = [&](std::vector<uint16_t>& x) { return contiguous_heads(x.data(), DType::BF16, N, H, D); };
  auto f32 = [&](std::vector<float>& x) { return contiguous_heads(x.data(), DType::F32, N, H, D); };
  const AttentionQKV in{bf16(q), bf16(k), bf16(v)};
  Arena arena;
  attention_forward(shape, mask, in, f32(o), lse.data(), arena);
  attention_backward(shape, mask, in, f32(o), lse.data(), bf16(dout), {f32(dq), f32(dk), f32(dv)}, arena);
  EXPECT_LE(arena.high_water(), attention_scratch_bytes(D, num_threads()));

  auto at = [&](const std::vector<uint16_t>& x, int64_t t, int64_t h, int64_t d) {
    return static_cast<double>(bf16_to_f32(x[(t * H + h) * D + d]));
  };
  const double scale = 1.0 / std::sqrt(double(D));
  // Segment start of t for head h (shift layout).
  auto segment_begin = [&](int64_t t, int64_t h) {
    if (h < H / 2) return t / G * G;
    return t < G / 2 ? int64_t{0} : G / 2 + (t - G / 2) / G * G;
  };
  auto check_row = [&](int64_t t, int64_t h) {
    const int64_t s0 = segment_begin(t, h);
    std::vector<double> score(t - s0 + 1);
    double mx = -1e300;
    for (int64_t s = s0; s <= t; ++s) {
      double dot = 0.0;
      for (int64_t d = 0; d < D; ++d) dot += at(q, t, h, d) * at(k, s, h, d);
      score[s - s0] = dot * scale;
      mx = std::max(mx, score[s - s0]);
    }
    double sum = 0.0;
    for (double& x : score) sum += (x = std::exp(x - mx));
    std::vector<double> out(D, 0.0), dp(score.size(), 0.0);
    for (int64_t s = s0; s <= t; ++s)
      for (int64_t d = 0; d < D; ++d) out[d] += score[s - s0] / sum * at(v, s, h, d);
    double delta = 0.0;
    for (int64_t s = s0; s <= t; ++s) {
      for (int64_t d = 0; d < D; ++d) dp[s - s0] += at(dout, t, h, d) * at(v, s, h, d);
      delta += score[s - s0] / sum * dp[s - s0];
    }
    std::vector<double> grad(D, 0.0);
    for (int64_t s = s0; s <= t; ++s) {
      const double ds = score[s - s0] / sum * (dp[s - s0] - delta) * scale;
      for (int64_t d = 0; d < D; ++d) grad[d] += ds * at(k, s, h, d);
    }
    SCOPED_TRACE("t " + std::to_string(t) + " h " + std::to_string(h));
    EXPECT_NEAR(lse[h * N + t], mx + std::log(sum), 1e-4);
    for (int64_t d = 0; d < D; ++d) {
      EXPECT_NEAR(o[(t * H + h) * D + d], out[d], 1e-5);
      EXPECT_NEAR(dq[(t * H + h) * D + d], grad[d], 1e-5);
    }
  };
  for (auto [t, h] : {std::pair<int64_t, int64_t>{0, 0}, {G - 1, 1}, {G / 2 + 5, 5}, {40000, 3}, {N - 1, 7}, {N - 1, 0},
                      {N - G / 2 - 1, 6}, {N - G / 2, 4}})
    check_row(t, h);
  // Every gradient is finite and the last key of the last segment got one.
  for (const std::vector<float>* g : {&dq, &dk, &dv})
    for (float x : *g) ASSERT_TRUE(std::isfinite(x));
  EXPECT_NE(dv[((N - 1) * H + 7) * D], 0.0f);
}

}  // namespace
}  // namespace ll
