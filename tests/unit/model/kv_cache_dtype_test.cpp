// A 16-bit KV cache (model/kv_cache.h) on the real stories260K: at bf16 compute a bf16 cache loses
// nothing (k and v are bf16 already), and at f32 compute an f16 or bf16 cache moves the logits by
// no more than the rounding of k and v can, and keeps the greedy story.
#include <gtest/gtest.h>

#include <cmath>

#include "eval/generate.h"
#include "model/forward.h"
#include "support/test_support.h"

namespace ll {
namespace {

std::unique_ptr<LlamaModel> stories(Precision p) {
  ModelOptions o;
  o.precision = p;
  return LlamaModel::open(test::shared_path("stories260K-hf"), o);
}

// The logits after each of: a 100-token prompt (prefill in chunks of 32), then 20 single-token steps.
std::vector<std::vector<float>> logits_with_cache(const LlamaModel& model, DType kv) {
  const int64_t V = model.config().vocab_size;
  std::vector<int32_t> tokens;
  for (int i = 0; i < 120; ++i) tokens.push_back(static_cast<int32_t>(1 + (i * 37) % (V - 1)));
  KVCache cache(model.config(), 120, model.backend(), kv);
  EXPECT_EQ(cache.dtype(), kv);
  Arena arena(model.backend(), 0);
  std::vector<std::vector<float>> out;
  std::vector<float> logits(static_cast<size_t>(V));
  forward_cached(model, cache, tokens.data(), 100, logits.data(), arena, /*chunk=*/32);
  out.push_back(logits);
  for (int64_t i = 100; i < 120; ++i) {
    forward_cached(model, cache, &tokens[static_cast<size_t>(i)], 1, logits.data(), arena);
    out.push_back(logits);
  }
  return out;
}

TEST(KVCacheDtype, Bf16CacheAtBf16ComputeIsExact) {
  LL_REQUIRE_SHARED_DATA();
  const auto model = stories(Precision::BF16);
  EXPECT_EQ(default_kv_cache_dtype(model->precision()), DType::BF16);
  const auto f32 = logits_with_cache(*model, DType::F32), bf16 = logits_with_cache(*model, DType::BF16);
  for (size_t s = 0; s < f32.size(); ++s)
    for (size_t v = 0; v < f32[s].size(); ++v) ASSERT_EQ(bf16[s][v], f32[s][v]) << "step " << s << " logit " << v;
}

// Each k and v element moves by at most u·|x| (u = 2⁻¹¹ for f16, 2⁻⁸ for bf16); through five layers
// the logits of this model (max |logit| 15) moved by 1.9·u·max|logit| (f16) and 1.5·u·max|logit|
// (bf16) when measured. The bound, 4·u·max|logit|, leaves twice that and fails if the cache were
// read in the wrong format (errors of order |logit|).
TEST(KVCacheDtype, SixteenBitCacheAtF32ComputeStaysWithinItsRounding) {
  LL_REQUIRE_SHARED_DATA();
  const auto model = stories(Precision::F32);
  EXPECT_EQ(default_kv_cache_dtype(model->precision()), DType::F32);
  const auto ref = logits_with_cache(*model, DType::F32);
  for (auto [dtype, u] : {std::pair{DType::F16, 0x1p-11}, std::pair{DType::BF16, 0x1p-8}}) {
    const auto got = logits_with_cache(*model, dtype);
    double worst = 0, scale = 0, changed = 0;
    for (size_t s = 0; s < ref.size(); ++s)
      for (size_t v = 0; v < ref[s].size(); ++v) {
        worst = std::max(worst, std::abs(double(got[s][v]) - ref[s][v]));
        scale = std::max(scale, std::abs(double(ref[s][v])));
        changed += got[s][v] != ref[s][v];
      }
    std::printf("%s cache: max |Δlogit| %.3g (max |logit| %.3g, bound %.3g)\n", dtype_name(dtype), worst, scale,
                4 * u * scale);
    EXPECT_LE(worst, 4 * u * scale) << dtype_name(dtype);
    EXPECT_GT(changed, 0) << dtype_name(dtype) << ": the cache was not stored in 16 bits";
  }
}

TEST(KVCacheDtype, GreedyStoryUnchangedWithAnF16Cache) {
  LL_REQUIRE_SHARED_DATA();
  const auto model = stories(Precision::F32);
  GenerateOptions opts;
  opts.max_new_tokens = 100;
  opts.sampling.greedy = true;
  opts.stop_at_eos = false;
  const std::vector<int32_t> f32 = generate(*model, {1}, opts, nullptr);
  opts.kv_cache = DType::F16;
  EXPECT_EQ(generate(*model, {1}, opts, nullptr), f32);
}

}  // namespace
}  // namespace ll
