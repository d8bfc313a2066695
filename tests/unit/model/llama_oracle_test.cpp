// The LLaMA forward against the PyTorch oracle (tests/reference/llama_ref.py): a tiny random HF
// checkpoint with GQA and odd sizes, logits for a batch of two rows.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "formats/tensor_store.h"
#include "model/forward.h"
#include "support/test_support.h"

namespace ll {
namespace {

struct Expected {
  std::vector<int32_t> tokens;
  std::vector<float> logits;
  int64_t B, T, V;
};

Expected read_expected(const std::string& path) {
  TensorStore store = TensorStore::open_file(path);
  Tensor tokens = store.get("tokens"), logits = store.get("logits");
  Expected e;
  e.B = tokens.shape[0];
  e.T = tokens.shape[1];
  e.V = logits.shape[2];
  e.tokens.assign(tokens.as<int32_t>(), tokens.as<int32_t>() + tokens.numel());
  e.logits.assign(logits.as<float>(), logits.as<float>() + logits.numel());
  return e;
}

// max |a − b| / max |b|
double rel_err(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, ref = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - b[i]));
    ref = std::max(ref, std::fabs(static_cast<double>(b[i])));
  }
  return diff / ref;
}

std::vector<float> batch_logits(const LlamaModel& model, const Expected& e) {
  Arena arena;
  BatchLayout batch{e.B, e.T, {e.T, e.T}};
  std::vector<float> hidden(static_cast<size_t>(e.B * e.T * model.config().hidden_size));
  forward_hidden(model, batch, e.tokens.data(), AttentionMask{}, hidden.data(), arena);
  std::vector<float> logits(static_cast<size_t>(e.B * e.T * e.V));
  compute_logits(model, hidden.data(), e.B * e.T, logits.data(), arena);
  return logits;
}

struct OracleCase {
  const char* name;
  std::vector<std::string> args;
  Precision precision;
  double tolerance;
};

class LlamaOracle : public ::testing::TestWithParam<OracleCase> {};

TEST_P(LlamaOracle, LogitsMatchPyTorch) {
  LL_REQUIRE_TORCH();
  const OracleCase& c = GetParam();
  test::TempDir dir;
  std::vector<std::string> args = {dir.path()};
  args.insert(args.end(), c.args.begin(), c.args.end());
  ASSERT_TRUE(test::run_oracle("make_tiny_llama.py", args));
  const Expected e = read_expected(dir.file("expected.safetensors"));
  ModelOptions opts;
  opts.precision = c.precision;
  auto model = LlamaModel::open(dir.file("model"), opts);
  const std::vector<float> logits = batch_logits(*model, e);
  EXPECT_LT(rel_err(logits, e.logits), c.tolerance);

  // Token-by-token decoding through the KV cache gives the same logits at every position.
  for (int64_t b = 0; b < e.B; ++b) {
    KVCache cache(model->config(), e.T, model->backend());
    Arena arena;
    std::vector<float> step(static_cast<size_t>(e.V)), want(static_cast<size_t>(e.V));
    double worst = 0;
    for (int64_t t = 0; t < e.T; ++t) {
      forward_cached(*model, cache, &e.tokens[static_cast<size_t>(b * e.T + t)], 1, step.data(), arena);
      std::copy_n(logits.begin() + (b * e.T + t) * e.V, e.V, want.begin());
      worst = std::max(worst, rel_err(step, want));
    }
    EXPECT_LT(worst, 1e-5) << "row " << b;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Checkpoints, LlamaOracle,
    ::testing::Values(OracleCase{"f32", {}, Precision::F32, 1e-4},
                      OracleCase{"tied_rope_factor", {"--tie", "--rope-factor", "4", "--seed", "3"}, Precision::F32, 1e-4},
                      OracleCase{"bf16_weights", {"--dtype", "bfloat16", "--seed", "5"}, Precision::F32, 1e-4},
                      OracleCase{"f16_weights", {"--dtype", "float16", "--seed", "6"}, Precision::F32, 1e-4},
                      // bf16 compute: GEMM inputs rounded to 8 significant bits, f32 accumulation.
                      OracleCase{"bf16_compute", {"--seed", "7"}, Precision::BF16, 3e-2}),
    [](const ::testing::TestParamInfo<OracleCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace ll
