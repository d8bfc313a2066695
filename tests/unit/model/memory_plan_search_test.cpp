// What `longlora info --memory` is built from: the byte-size parser, the largest-context search, and
// the inference plan's KV cache at each dtype (a dry run of the real path, model/memory_plan.h).
#include <gtest/gtest.h>

#include "formats/llama_config.h"
#include "model/memory_plan.h"
#include "support/test_support.h"

namespace ll {
namespace {

TEST(ParseByteSize, BinaryDecimalAndPlainUnits) {
  EXPECT_EQ(parse_byte_size("24GiB"), uint64_t{24} << 30);
  EXPECT_EQ(parse_byte_size("24G"), uint64_t{24} << 30);
  EXPECT_EQ(parse_byte_size("1.5MiB"), uint64_t{3} << 19);
  EXPECT_EQ(parse_byte_size("512K"), uint64_t{512} << 10);
  EXPECT_EQ(parse_byte_size("2T"), uint64_t{2} << 40);
  EXPECT_EQ(parse_byte_size("25.7GB"), uint64_t{25'700'000'000});
  EXPECT_EQ(parse_byte_size("3kB"), uint64_t{3000});
  EXPECT_EQ(parse_byte_size("4096"), uint64_t{4096});
  EXPECT_EQ(parse_byte_size("4096B"), uint64_t{4096});
  for (const char* bad : {"", "GiB", "-1G", "24 GiB", "24gib", "1e9", "0x10", "inf", "nan", "24Gi", "9e30"})
    EXPECT_FALSE(parse_byte_size(bad).has_value()) << bad;
}

TEST(LargestContext, MultiplesOfTheStepThatFit) {
  // need(n) = 1000 + 3n: memory 4000 fits n ≤ 1000, so 768 at steps of 256 and 1000 at steps of 8.
  auto need = [](int64_t n) { return static_cast<uint64_t>(1000 + 3 * n); };
  EXPECT_EQ(largest_context(4000, need), 768);
  EXPECT_EQ(largest_context(4000, need, 8), 1000);
  EXPECT_EQ(largest_context(1000 + 3 * 256, need), 256);  // exactly the first step
  EXPECT_EQ(largest_context(1000 + 3 * 256 - 1, need), 0);  // not even one step
  EXPECT_EQ(largest_context(uint64_t{1} << 40, need, 256, 5000), 4864);  // capped at the limit
  // Each probe is one dry run: doubling then bisecting takes O(log) of them.
  int probes = 0;
  largest_context(uint64_t{3} << 20, [&](int64_t n) { ++probes; return need(n); });
  EXPECT_LE(probes, 2 * 13 + 2);
}

LlamaConfig stories_config() { return parse_hf_config(test::shared_path("stories260K-hf/config.json")); }

// The KV cache part is exactly 2 (k, v) · layers · context · Hkv·D · the dtype's size, and nothing
// else in the plan changes with the cache's dtype.
TEST(InferencePlan, KVCacheInItsDtype) {
  LL_REQUIRE_SHARED_DATA();
  const LlamaConfig c = stories_config();
  const int64_t context = 1000;
  const uint64_t elements = 2 * c.num_layers * context * c.kv_dim();
  auto cache_part = [](const MemoryPlan& plan) {
    for (const auto& [what, bytes] : plan.parts)
      if (what.rfind("KV cache", 0) == 0) return std::pair{what, bytes};
    ADD_FAILURE() << "no KV cache part";
    return std::pair{std::string(), uint64_t{0}};
  };
  const MemoryPlan f32 = plan_inference(c, DType::F32, Precision::F32, context, 2, DType::F32);
  EXPECT_EQ(cache_part(f32), std::pair(std::string("KV cache (f32)"), elements * 4));
  for (DType dtype : {DType::BF16, DType::F16}) {
    const MemoryPlan half = plan_inference(c, DType::F32, Precision::F32, context, 2, dtype);
    EXPECT_EQ(cache_part(half), std::pair(std::string("KV cache (") + dtype_name(dtype) + ")", elements * 2));
    EXPECT_EQ(f32.total() - half.total(), elements * 2) << dtype_name(dtype);
  }
}

}  // namespace
}  // namespace ll
