// The kernel against the PyTorch oracle (tests/reference/attention_oracle.py), which computes
// LongLoRA's two S²-Attn forms the way LongLoRA's code does: its flash path's cu_seqlens segments,
// and roll + reshape into groups + causal mask. Forward and autograd gradients, in double.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "support/test_support.h"
#include "unit/attention/reference.h"

namespace ll {
namespace {

using attn_test::Outputs;
using attn_test::Problem;
using attn_test::relative_error;

struct OracleCase {
  const char* name;
  const char* oracle_mode;  // full, flash, roll
  AttentionMode mode;
  std::vector<int64_t> lengths;
  int64_t q_heads, kv_heads, head_dim, group;  // group 0: int(N/4) per row
};

std::string doubles_to_bytes(const std::vector<double>& x) {
  std::string bytes(x.size() * sizeof(double), '\0');
  std::memcpy(bytes.data(), x.data(), bytes.size());
  return bytes;
}

std::vector<double> bytes_to_doubles(const std::string& bytes) {
  std::vector<double> x(bytes.size() / sizeof(double));
  std::memcpy(x.data(), bytes.data(), x.size() * sizeof(double));
  return x;
}

std::string join(const std::vector<int64_t>& v) {
  std::string s;
  for (int64_t x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

const OracleCase kOracleCases[] = {
    {"flash_ratio_b3_gqa3", "flash", AttentionMode::S2Shift, {64, 50, 37}, 6, 2, 64, 0},
    {"flash_g10_partial", "flash", AttentionMode::S2Shift, {47}, 4, 4, 8, 10},
    {"flash_g8_odd_heads", "flash", AttentionMode::S2Shift, {33}, 5, 5, 8, 8},
    {"roll_g16_divisible_d128", "roll", AttentionMode::S2Roll, {64}, 8, 8, 128, 16},
    {"roll_g10_partial_wrap", "roll", AttentionMode::S2Roll, {47}, 4, 2, 64, 10},
    {"roll_ratio_b2_gqa8", "roll", AttentionMode::S2Roll, {48, 41}, 8, 1, 8, 0},
    {"full_b2", "full", AttentionMode::Causal, {40, 29}, 4, 2, 64, 0},
};

Problem make_problem(const OracleCase& c) {
  const AttentionShape shape = attn_test::padded_shape(c.lengths, c.q_heads, c.kv_heads, c.head_dim);
  AttentionMask mask;
  mask.mode = c.mode;
  mask.s2_group = c.group;
  return attn_test::random_problem(shape, mask, 77);
}

// One oracle run for every case (torch starts once; one test, so ctest's one-process-per-test
// does not start it again per case), then each case compared on its own.
TEST(AttentionOracle, KernelMatchesLongLoRAsFormsInPyTorch) {
  LL_REQUIRE_TORCH();
  test::TempDir dir;
  std::string json = "[";
  for (const OracleCase& c : kOracleCases) {
    const Problem p = make_problem(c);
    const std::string case_dir = dir.file(c.name);
    std::filesystem::create_directories(case_dir);
    test::write_file(case_dir + "/q.bin", doubles_to_bytes(p.q));
    test::write_file(case_dir + "/k.bin", doubles_to_bytes(p.k));
    test::write_file(case_dir + "/v.bin", doubles_to_bytes(p.v));
    test::write_file(case_dir + "/dout.bin", doubles_to_bytes(p.dout));
    json += std::string(json.size() > 1 ? "," : "") + "{\"dir\": \"" + case_dir + "\", \"mode\": \"" +
            c.oracle_mode + "\", \"max_len\": " + std::to_string(p.shape.max_len) + ", \"lengths\": [" +
            join(c.lengths) + "], \"q_heads\": " + std::to_string(c.q_heads) +
            ", \"kv_heads\": " + std::to_string(c.kv_heads) + ", \"head_dim\": " + std::to_string(c.head_dim) +
            ", \"group\": " + std::to_string(c.group) + "}";
  }
  test::write_file(dir.file("cases.json"), json + "]");
  ASSERT_TRUE(test::run_oracle("attention_oracle.py", {dir.file("cases.json")}));

  AttentionTuning tiles;
  tiles.query_tile = 16;
  tiles.key_tile = 8;
  for (const OracleCase& c : kOracleCases) {
    SCOPED_TRACE(c.name);
    const Problem p = make_problem(c);
    const std::string d = dir.file(c.name);
    Outputs oracle;
    oracle.o = bytes_to_doubles(test::read_file(d + "/o.bin"));
    oracle.dq = bytes_to_doubles(test::read_file(d + "/dq.bin"));
    oracle.dk = bytes_to_doubles(test::read_file(d + "/dk.bin"));
    oracle.dv = bytes_to_doubles(test::read_file(d + "/dv.bin"));
    ASSERT_EQ(oracle.o.size(), p.q.size());
    ASSERT_EQ(oracle.dk.size(), p.k.size());

    const Outputs got = attn_test::run_kernel(p, DType::F32, tiles);
    EXPECT_LT(relative_error(got.o, oracle.o), 1e-5);
    EXPECT_LT(relative_error(got.dq, oracle.dq), 1e-5);
    EXPECT_LT(relative_error(got.dk, oracle.dk), 1e-5);
    EXPECT_LT(relative_error(got.dv, oracle.dv), 1e-5);
    // The C++ double reference (the mask as DESIGN.md words it) agrees with LongLoRA's code to rounding.
    const Outputs ref = attn_test::reference_attention(p);
    EXPECT_LT(relative_error(ref.o, oracle.o), 1e-12);
    EXPECT_LT(relative_error(ref.dk, oracle.dk), 1e-12);
  }
}

}  // namespace
}  // namespace ll
