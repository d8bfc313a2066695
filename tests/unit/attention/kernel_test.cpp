// The kernel against the naive double-precision reference, forward and backward, in every mode, on
// random odd shapes; the reference's own gradients against finite differences; and a finite-difference
// check of the kernel itself.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "unit/attention/reference.h"

namespace ll {
namespace {

using attn_test::Outputs;
using attn_test::Problem;
using attn_test::relative_error;

struct Case {
  std::string name;
  std::vector<int64_t> lengths;  // T = the largest
  int64_t q_heads, kv_heads, head_dim;
  AttentionMode mode;
  int64_t group;  // 0: ratio 1/4 of each row's length
  std::vector<std::vector<int64_t>> docs;
  int query_tile, key_tile;  // 0: defaults
};

std::ostream& operator<<(std::ostream& os, const Case& c) { return os << c.name; }

Problem make_problem(const Case& c, uint64_t seed) {
  const AttentionShape shape = attn_test::padded_shape(c.lengths, c.q_heads, c.kv_heads, c.head_dim);
  AttentionMask mask;
  mask.mode = c.mode;
  mask.s2_group = c.group;
  mask.doc_starts = c.docs;
  return attn_test::random_problem(shape, mask, seed);
}

AttentionTuning tiles(const Case& c) {
  AttentionTuning t;
  t.query_tile = c.query_tile;
  t.key_tile = c.key_tile;
  return t;
}

const AttentionMode kCausal = AttentionMode::Causal, kShift = AttentionMode::S2Shift, kRoll = AttentionMode::S2Roll;

// Odd lengths, D ∈ {8, 64, 128}, Hq odd and even, GQA ratios 1, 2, 8, G not dividing N, batch 3 of
// different lengths, documents, tiles small enough that every row spans many of them.
const Case kCases[] = {
    {"causal_b3_gqa2_d64", {37, 50, 23}, 4, 2, 64, kCausal, 0, {}, 16, 8},
    {"causal_default_tiles_d128", {97}, 3, 3, 128, kCausal, 0, {}, 0, 0},
    {"shift_ratio_b3_h5_d8", {61, 47, 29}, 5, 5, 8, kShift, 0, {}, 8, 8},
    {"shift_g12_gqa8_d128", {53}, 8, 1, 128, kShift, 12, {}, 16, 16},
    {"shift_g7_odd_tiles", {45, 38}, 6, 2, 64, kShift, 7, {}, 5, 3},
    {"roll_g10_b3_gqa2_d64", {47, 40, 33}, 6, 3, 64, kRoll, 10, {}, 16, 8},
    {"roll_ratio_divisible_d8", {64}, 4, 4, 8, kRoll, 0, {}, 8, 16},
    {"roll_g9_h1", {31}, 1, 1, 8, kRoll, 9, {}, 4, 4},
    {"roll_g12_gqa8_h8", {41}, 8, 1, 64, kRoll, 12, {}, 16, 16},
    {"shift_docs", {45, 52}, 4, 2, 64, kShift, 12, {{13, 30}, {0, 5, 51}}, 8, 8},
    {"roll_docs_across_wrap", {50}, 4, 2, 8, kRoll, 16, {{7, 41}}, 8, 4},
    {"causal_docs", {39, 26}, 2, 1, 64, kCausal, 0, {{10, 11, 25}, {20}}, 16, 16},
    {"group_beyond_length_is_causal", {40, 23}, 4, 4, 64, kShift, 64, {}, 16, 16},
    {"empty_row", {19, 0}, 2, 1, 8, kRoll, 6, {}, 8, 8},
};

class AttentionKernel : public testing::TestWithParam<Case> {};

TEST_P(AttentionKernel, MatchesDoubleReferenceF32) {
  const Problem p = make_problem(GetParam(), 1234);
  const Outputs ref = attn_test::reference_attention(p);
  const Outputs got = attn_test::run_kernel(p, DType::F32, tiles(GetParam()));
  EXPECT_LT(relative_error(got.o, ref.o), 1e-5);
  EXPECT_LT(relative_error(got.lse, ref.lse), 1e-5);
  EXPECT_LT(relative_error(got.dq, ref.dq), 1e-5);
  EXPECT_LT(relative_error(got.dk, ref.dk), 1e-5);
  EXPECT_LT(relative_error(got.dv, ref.dv), 1e-5);
}

TEST_P(AttentionKernel, MatchesDoubleReferenceBf16Inputs) {
  Problem p = make_problem(GetParam(), 99);
  attn_test::round_inputs_to_bf16(p);  // the kernel widens bf16 exactly: same inputs, f32 arithmetic
  const Outputs ref = attn_test::reference_attention(p);
  const Outputs got = attn_test::run_kernel(p, DType::BF16, tiles(GetParam()));
  EXPECT_LT(relative_error(got.o, ref.o), 1e-5);
  EXPECT_LT(relative_error(got.dq, ref.dq), 1e-5);
  EXPECT_LT(relative_error(got.dk, ref.dk), 1e-5);
  EXPECT_LT(relative_error(got.dv, ref.dv), 1e-5);
}

TEST_P(AttentionKernel, MatchesDoubleReferenceF16Inputs) {
  Problem p = make_problem(GetParam(), 77);
  attn_test::round_inputs_to_f16(p);  // f16 is widened exactly too (subnormals included)
  const Outputs ref = attn_test::reference_attention(p);
  const Outputs got = attn_test::run_kernel(p, DType::F16, tiles(GetParam()));
  EXPECT_LT(relative_error(got.o, ref.o), 1e-5);
  EXPECT_LT(relative_error(got.dq, ref.dq), 1e-5);
  EXPECT_LT(relative_error(got.dk, ref.dk), 1e-5);
  EXPECT_LT(relative_error(got.dv, ref.dv), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Modes, AttentionKernel, testing::ValuesIn(kCases),
                         [](const testing::TestParamInfo<Case>& info) { return info.param.name; });

// The reference's analytic gradients are what finite differences of its loss Σ dout∘o say, in
// double, for every mode (so comparing the kernel against them checks the kernel's gradients).
TEST(AttentionReference, GradientsMatchFiniteDifferences) {
  const Case cases[] = {
      {"causal", {9, 7}, 4, 2, 8, kCausal, 0, {}, 0, 0},
      {"shift", {11, 8}, 4, 2, 8, kShift, 4, {}, 0, 0},
      {"roll", {11}, 2, 1, 8, kRoll, 4, {}, 0, 0},
      {"docs", {12}, 2, 2, 8, kRoll, 6, {{3, 10}}, 0, 0},
  };
  for (const Case& c : cases) {
    Problem p = make_problem(c, 5);
    const Outputs ref = attn_test::reference_attention(p);
    const double eps = 1e-5;
    for (auto [x, grad, name] : {std::tuple{&p.q, &ref.dq, "dq"}, {&p.k, &ref.dk, "dk"}, {&p.v, &ref.dv, "dv"}}) {
      for (size_t i = 0; i < x->size(); i += 3) {
        const double saved = (*x)[i];
        (*x)[i] = saved + eps;
        const double up = attn_test::reference_loss(p);
        (*x)[i] = saved - eps;
        const double down = attn_test::reference_loss(p);
        (*x)[i] = saved;
        EXPECT_NEAR((*grad)[i], (up - down) / (2 * eps), 1e-8) << c.name << " " << name << "[" << i << "]";
      }
    }
  }
}

// Finite differences through the f32 kernel itself (coarse: f32 forward), on a roll problem with
// GQA and small tiles.
TEST(AttentionKernelGradients, MatchFiniteDifferencesOfTheKernel) {
  const Case c{"roll", {13, 10}, 4, 2, 8, kRoll, 6, {}, 4, 4};
  Problem p = make_problem(c, 21);
  const Outputs got = attn_test::run_kernel(p, DType::F32, tiles(c));
  auto kernel_loss = [&] {
    const Outputs o = attn_test::run_kernel(p, DType::F32, tiles(c), false);
    double loss = 0.0;
    for (size_t i = 0; i < o.o.size(); ++i) loss += o.o[i] * p.dout[i];
    return loss;
  };
  const double eps = 1e-2;
  std::mt19937 rng(3);
  for (auto [x, grad, name] : {std::tuple{&p.q, &got.dq, "dq"}, {&p.k, &got.dk, "dk"}, {&p.v, &got.dv, "dv"}}) {
    for (int n = 0; n < 40; ++n) {
      const size_t i = rng() % x->size();
      const double saved = (*x)[i];
      (*x)[i] = saved + eps;
      const double up = kernel_loss();
      (*x)[i] = saved - eps;
      const double down = kernel_loss();
      (*x)[i] = saved;
      EXPECT_NEAR((*grad)[i], (up - down) / (2 * eps), 2e-3) << name << "[" << i << "]";
    }
  }
}

}  // namespace
}  // namespace ll
