// Properties the model relies on: every instruction-set path agrees, results do not depend on the
// thread count or on the other rows of a batch, fused strided layouts work in place, and the KV-cache
// inference path gives the rows of the full causal forward.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "core/arena.h"
#include "core/half.h"
#include "core/threads.h"
#include "kernels/attention/tile_kernels.h"
#include "unit/attention/reference.h"

namespace ll {
namespace {

using attn_test::Outputs;
using attn_test::Problem;
using attn_test::relative_error;

std::vector<CpuIsa> available_isas() {
  std::vector<CpuIsa> isas;
  for (CpuIsa isa : {CpuIsa::Portable, CpuIsa::Avx2, CpuIsa::Avx512})
    if (cpu_isa_available(isa)) isas.push_back(isa);
  return isas;
}

std::vector<float> random_floats(size_t n, std::mt19937& rng, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> x(n);
  for (float& e : x) e = u(rng);
  return x;
}

// Each path's tile kernels against plain double loops, on odd sizes and strides.
TEST(AttentionTileKernels, EveryAvailablePathComputesItsDefinition) {
  std::mt19937 rng(5);
  for (CpuIsa isa : available_isas()) {
    SCOPED_TRACE(cpu_isa_name(isa));
    const attn::TileKernels& kern = attn::tile_kernels(isa);
    // gemm, with A read as is and transposed, accumulating or not.
    for (auto [M, N, K] : {std::tuple{13, 40, 29}, {6, 16, 1}, {1, 8, 7}, {64, 64, 128}, {7, 24, 64}}) {
      for (bool transposed : {false, true}) {
        for (bool accumulate : {false, true}) {
          const int64_t lda = (transposed ? M : K) + 3, ldb = N + 5, ldc = N + 2;
          const auto A = random_floats(lda * (transposed ? K : M), rng);
          const auto B = random_floats(ldb * K, rng);
          auto C = random_floats(ldc * M, rng);
          const auto C0 = C;
          const int64_t a_rs = transposed ? 1 : lda, a_cs = transposed ? lda : 1;
          kern.gemm(M, N, K, A.data(), a_rs, a_cs, B.data(), ldb, C.data(), ldc, accumulate);
          for (int m = 0; m < M; ++m)
            for (int n = 0; n < N; ++n) {
              double want = accumulate ? C0[m * ldc + n] : 0.0;
              for (int k = 0; k < K; ++k) want += double(A[m * a_rs + k * a_cs]) * B[k * ldb + n];
              ASSERT_NEAR(C[m * ldc + n], want, 1e-5 * (1 + K)) << "M" << M << " N" << N << " K" << K;
            }
        }
      }
    }
    // softmax_step: a masked tile after a previous step.
    const int rows = 11, cols = 24, ld = 27;
    const float scale_log2 = 0.4f;
    auto s = random_floats(rows * ld, rng, -4, 4);
    for (int r = 0; r < rows; ++r)
      for (int j = 0; j < r; ++j) s[r * ld + j] = -std::numeric_limits<float>::infinity();
    std::vector<float> m(cols), l(cols), alpha(cols);
    for (int j = 0; j < cols; ++j) {
      m[j] = j % 5 == 0 ? attn::kNoScoreYet : 0.3f * j - 2;
      l[j] = j % 5 == 0 ? 0.0f : 1.0f + 0.1f * j;
    }
    const auto s0 = s;
    const auto m0 = m, l0 = l;
    kern.softmax_step(s.data(), ld, rows, cols, scale_log2, m.data(), l.data(), alpha.data());
    for (int j = 0; j < cols; ++j) {
      double mx = m0[j];
      for (int r = 0; r < rows; ++r) mx = std::max(mx, double(s0[r * ld + j]) * scale_log2);
      ASSERT_NEAR(m[j], mx, 1e-5);
      ASSERT_NEAR(alpha[j], std::exp2(m0[j] - mx), 1e-6);
      double sum = l0[j] * std::exp2(m0[j] - mx);
      for (int r = 0; r < rows; ++r) {
        const double p = std::exp2(double(s0[r * ld + j]) * scale_log2 - mx);
        ASSERT_NEAR(s[r * ld + j], p, 1e-6 * (1 + p));
        sum += p;
      }
      ASSERT_NEAR(l[j], sum, 1e-5 * sum);
    }
    // grad_rows and grad_cols.
    auto sc = random_floats(rows * ld, rng, -3, 3);
    auto dp = random_floats(rows * ld, rng);
    const auto lse2_r = random_floats(rows, rng, 0, 2), delta_r = random_floats(rows, rng);
    const auto lse2_c = random_floats(cols, rng, 0, 2), delta_c = random_floats(cols, rng);
    const auto sc0 = sc, dp0 = dp;
    const float scale = 0.3f;
    auto check_grads = [&](bool by_row, const std::vector<float>& s_out, const std::vector<float>& ds) {
      for (int r = 0; r < rows; ++r)
        for (int j = 0; j < cols; ++j) {
          const double L = by_row ? lse2_r[r] : lse2_c[j], dl = by_row ? delta_r[r] : delta_c[j];
          const double p = std::exp2(double(sc0[r * ld + j]) * scale_log2 - L);
          ASSERT_NEAR(ds[r * ld + j], p * (dp0[r * ld + j] - dl) * scale, 1e-6);
          if (by_row) {
            ASSERT_NEAR(s_out[r * ld + j], p, 1e-6 * (1 + p));
          }
        }
    };
    kern.grad_cols(sc.data(), dp.data(), ld, rows, cols, scale_log2, lse2_c.data(), delta_c.data(), scale);
    check_grads(false, sc, dp);
    dp = dp0;
    kern.grad_rows(sc.data(), dp.data(), ld, rows, cols, scale_log2, lse2_r.data(), delta_r.data(), scale);
    check_grads(true, sc, dp);
    // scale_rows
    auto o = random_floats(rows * ld, rng);
    const auto o0 = o;
    const auto row_alpha = random_floats(rows, rng, 0, 1);
    kern.scale_rows(o.data(), ld, rows, cols, row_alpha.data());
    for (int r = 0; r < rows; ++r)
      for (int j = 0; j < ld; ++j) ASSERT_EQ(o[r * ld + j], j < cols ? o0[r * ld + j] * row_alpha[r] : o0[r * ld + j]);
  }
}

Problem roll_problem(uint64_t seed) {
  AttentionShape shape;
  shape.batch = 2;
  shape.max_len = 45;
  shape.lengths = {45, 38};
  shape.q_heads = 6;
  shape.kv_heads = 2;
  shape.head_dim = 64;
  AttentionMask mask;
  mask.mode = AttentionMode::S2Roll;
  mask.s2_ratio = 0.25;  // G = 11 and 9: a different group per row
  return attn_test::random_problem(shape, mask, seed);
}

TEST(AttentionPaths, EveryAvailablePathMatchesTheReferenceAndEachOther) {
  const Problem p = roll_problem(8);
  const Outputs ref = attn_test::reference_attention(p);
  AttentionTuning portable_tuning;
  portable_tuning.isa = CpuIsa::Portable;
  portable_tuning.query_tile = 16;
  portable_tuning.key_tile = 8;
  const Outputs portable = attn_test::run_kernel(p, DType::F32, portable_tuning);
  for (CpuIsa isa : available_isas()) {
    SCOPED_TRACE(cpu_isa_name(isa));
    AttentionTuning t = portable_tuning;
    t.isa = isa;
    const Outputs got = attn_test::run_kernel(p, DType::F32, t);
    for (auto [a, r] : {std::pair{&got.o, &ref.o}, {&got.dq, &ref.dq}, {&got.dk, &ref.dk}, {&got.dv, &ref.dv}})
      EXPECT_LT(relative_error(*a, *r), 1e-5);
    for (auto [a, r] : {std::pair{&got.o, &portable.o}, {&got.dq, &portable.dq}, {&got.dk, &portable.dk}})
      EXPECT_LT(relative_error(*a, *r), 2e-6);
  }
}

void expect_bitwise_equal(const std::vector<double>& a, const std::vector<double>& b, const char* what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(double)), 0) << what << " differs";
}

void expect_bitwise_equal(const Outputs& a, const Outputs& b) {
  expect_bitwise_equal(a.o, b.o, "o");
  expect_bitwise_equal(a.lse, b.lse, "lse");
  expect_bitwise_equal(a.dq, b.dq, "dq");
  expect_bitwise_equal(a.dk, b.dk, "dk");
  expect_bitwise_equal(a.dv, b.dv, "dv");
}

TEST(AttentionDeterminism, BitIdenticalForAnyThreadCount) {
  const Problem p = roll_problem(9);
  AttentionTuning t;
  t.query_tile = 8;
  t.key_tile = 8;
  const int saved = num_threads();
  set_num_threads(1);
  const Outputs one = attn_test::run_kernel(p, DType::F32, t);
  set_num_threads(3);
  const Outputs three = attn_test::run_kernel(p, DType::F32, t);
  set_num_threads(saved);
  const Outputs again = attn_test::run_kernel(p, DType::F32, t);
  expect_bitwise_equal(one, three);
  expect_bitwise_equal(one, again);
}

// LongLoRA's S²-Attn gives wrong results for batch > 1; here a batch is exactly its rows run alone.
TEST(AttentionBatch, BatchOfTwoGivesExactlyThePerRowResults) {
  for (AttentionMode mode : {AttentionMode::S2Shift, AttentionMode::S2Roll, AttentionMode::Causal}) {
    Problem batch = roll_problem(10);
    batch.mask.mode = mode;
    const Outputs both = attn_test::run_kernel(batch, DType::F32);
    const AttentionShape& sh = batch.shape;
    const int64_t T = sh.max_len, D = sh.head_dim;
    for (int64_t b = 0; b < 2; ++b) {
      Problem row = batch;
      row.shape.batch = 1;
      row.shape.lengths = {sh.lengths[b]};
      auto slice = [&](const std::vector<double>& x, int64_t heads) {
        return std::vector<double>(x.begin() + b * T * heads * D, x.begin() + (b + 1) * T * heads * D);
      };
      row.q = slice(batch.q, sh.q_heads);
      row.k = slice(batch.k, sh.kv_heads);
      row.v = slice(batch.v, sh.kv_heads);
      row.dout = slice(batch.dout, sh.q_heads);
      const Outputs alone = attn_test::run_kernel(row, DType::F32);
      SCOPED_TRACE(std::string(attention_mode_name(mode)) + " row " + std::to_string(b));
      expect_bitwise_equal(alone.o, slice(both.o, sh.q_heads), "o");
      expect_bitwise_equal(alone.dq, slice(both.dq, sh.q_heads), "dq");
      expect_bitwise_equal(alone.dk, slice(both.dk, sh.kv_heads), "dk");
      expect_bitwise_equal(alone.dv, slice(both.dv, sh.kv_heads), "dv");
      expect_bitwise_equal(alone.lse, std::vector<double>(both.lse.begin() + b * sh.q_heads * T,
                                                          both.lse.begin() + (b + 1) * sh.q_heads * T),
                           "lse");
    }
  }
}

// q, k, v read straight out of a fused QKV projection output (bf16, with a padded batch stride), the
// gradients written straight into a fused f32 dQKV buffer whose other bytes stay untouched.
TEST(AttentionLayout, FusedQkvAndDqkvBuffers) {
  Problem p = roll_problem(12);
  attn_test::round_inputs_to_bf16(p);
  const Outputs want = attn_test::run_kernel(p, DType::BF16);
  const AttentionShape& sh = p.shape;
  const int64_t T = sh.max_len, Hq = sh.q_heads, Hkv = sh.kv_heads, D = sh.head_dim;
  const int64_t width = (Hq + 2 * Hkv) * D, batch_stride = (T + 3) * width;
  std::vector<uint16_t> qkv(sh.batch * batch_stride, 0x7fc0);  // NaN where nothing belongs
  std::vector<float> o(sh.batch * T * Hq * D), lse(sh.batch * Hq * T);
  std::vector<float> dqkv(sh.batch * batch_stride, 12345.0f);
  std::vector<uint16_t> dout(p.dout.size());
  for (int64_t b = 0; b < sh.batch; ++b)
    for (int64_t t = 0; t < T; ++t) {
      uint16_t* row = qkv.data() + b * batch_stride + t * width;
      for (int64_t i = 0; i < Hq * D; ++i) row[i] = f32_to_bf16(float(p.q[(b * T + t) * Hq * D + i]));
      for (int64_t i = 0; i < Hkv * D; ++i) {
        row[Hq * D + i] = f32_to_bf16(float(p.k[(b * T + t) * Hkv * D + i]));
        row[(Hq + Hkv) * D + i] = f32_to_bf16(float(p.v[(b * T + t) * Hkv * D + i]));
      }
    }
  for (size_t i = 0; i < dout.size(); ++i) dout[i] = f32_to_bf16(float(p.dout[i]));
  auto fused = [&](void* base, DType dt, int64_t offset) {
    const size_t esize = dtype_size(dt);
    return HeadsView{static_cast<char*>(base) + offset * esize, dt, batch_stride, width};
  };
  const AttentionQKV in{fused(qkv.data(), DType::BF16, 0), fused(qkv.data(), DType::BF16, Hq * D),
                        fused(qkv.data(), DType::BF16, (Hq + Hkv) * D)};
  const AttentionQKV grads{fused(dqkv.data(), DType::F32, 0), fused(dqkv.data(), DType::F32, Hq * D),
                           fused(dqkv.data(), DType::F32, (Hq + Hkv) * D)};
  Arena arena;
  const HeadsView o_view = contiguous_heads(o.data(), DType::F32, T, Hq, D);
  attention_forward(sh, p.mask, in, o_view, lse.data(), arena);
  attention_backward(sh, p.mask, in, o_view, lse.data(), contiguous_heads(dout.data(), DType::BF16, T, Hq, D), grads,
                     arena);
  expect_bitwise_equal(std::vector<double>(o.begin(), o.end()), want.o, "o");
  for (int64_t b = 0; b < sh.batch; ++b)
    for (int64_t t = 0; t < T + 3; ++t)
      for (int64_t i = 0; i < width; ++i) {
        const float got = dqkv[b * batch_stride + t * width + i];
        if (t >= T) {
          ASSERT_EQ(got, 12345.0f) << "batch padding written";
          continue;
        }
        const int64_t which = i < Hq * D ? 0 : i < (Hq + Hkv) * D ? 1 : 2;
        const int64_t heads = which == 0 ? Hq : Hkv;
        const int64_t j = i - (which == 0 ? 0 : which == 1 ? Hq * D : (Hq + Hkv) * D);
        const std::vector<double>& ref = which == 0 ? want.dq : which == 1 ? want.dk : want.dv;
        ASSERT_EQ(double(got), ref[(b * T + t) * heads * D + j]) << "b " << b << " t " << t << " i " << i;
      }
}

// Prefill, chunked prefill and one-token decode against a KV cache give the rows of the full causal
// forward, for a batch whose rows are at different positions.
TEST(AttentionCached, PrefillAndDecodeMatchTheFullForward) {
  AttentionShape shape;
  shape.batch = 2;
  shape.max_len = 70;
  shape.lengths = {70, 55};
  shape.q_heads = 4;
  shape.kv_heads = 2;
  shape.head_dim = 64;
  const Problem p = attn_test::random_problem(shape, AttentionMask{}, 31);
  const Outputs full = attn_test::run_kernel(p, DType::F32, {}, false);
  const int64_t T = shape.max_len, Hq = shape.q_heads, Hkv = shape.kv_heads, D = shape.head_dim;
  // The cache holds all keys and values (as if written step by step); queries come in chunks.
  std::vector<float> k(p.k.begin(), p.k.end()), v(p.v.begin(), p.v.end());
  const int64_t capacity = T;
  Arena arena;
  struct Step {
    int64_t start[2], count[2];
  };
  const Step steps[] = {{{0, 0}, {30, 17}}, {{30, 17}, {15, 20}}, {{45, 37}, {1, 1}}, {{46, 38}, {1, 0}},
                        {{47, 38}, {23, 17}}};
  for (const Step& step : steps) {
    CachedAttentionShape cs;
    cs.batch = 2;
    cs.max_queries = 30;
    cs.cache_len = capacity;
    cs.q_heads = Hq;
    cs.kv_heads = Hkv;
    cs.head_dim = D;
    cs.q_start = {step.start[0], step.start[1]};
    cs.q_len = {step.count[0], step.count[1]};
    std::vector<float> q(2 * cs.max_queries * Hq * D, 0.0f), o(q.size(), std::nanf("")),
        lse(2 * Hq * cs.max_queries, std::nanf(""));
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t i = 0; i < step.count[b]; ++i)
        for (int64_t j = 0; j < Hq * D; ++j)
          q[(b * cs.max_queries + i) * Hq * D + j] = float(p.q[((b * T) + step.start[b] + i) * Hq * D + j]);
    const AttentionQKV in{contiguous_heads(q.data(), DType::F32, cs.max_queries, Hq, D),
                          contiguous_heads(k.data(), DType::F32, capacity, Hkv, D),
                          contiguous_heads(v.data(), DType::F32, capacity, Hkv, D)};
    attention_forward_cached(cs, in, contiguous_heads(o.data(), DType::F32, cs.max_queries, Hq, D), lse.data(),
                             arena);
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t i = 0; i < cs.max_queries; ++i)
        for (int64_t j = 0; j < Hq * D; ++j) {
          const float got = o[(b * cs.max_queries + i) * Hq * D + j];
          if (i >= step.count[b]) {
            ASSERT_EQ(got, 0.0f);
            continue;
          }
          ASSERT_NEAR(got, full.o[((b * T) + step.start[b] + i) * Hq * D + j], 2e-6)
              << "row " << b << " position " << step.start[b] + i;
        }
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t h = 0; h < Hq; ++h)
        for (int64_t i = 0; i < step.count[b]; ++i)
          ASSERT_NEAR(lse[(b * Hq + h) * cs.max_queries + i], full.lse[(b * Hq + h) * T + step.start[b] + i], 2e-6);
  }
}

}  // namespace
}  // namespace ll
