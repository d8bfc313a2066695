// ZeRO-1's optimizer shards (train/optimizer.h, dist/share.h buffer_shard): AdamW over the shards of
// R ranks, each holding only its moments, updates every element exactly as one optimizer over the
// whole store does — across parameter and weight-decay group boundaries, for R = 2, 3 and 4.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "backend/backend.h"
#include "dist/share.h"
#include "train/optimizer.h"

namespace ll {
namespace {

// A store with decaying and non-decaying parameters of odd sizes, values and gradients from a seed.
std::unique_ptr<TrainableStore> odd_store() {
  auto store = std::make_unique<TrainableStore>();
  const int64_t a[] = {7, 5}, b[] = {33}, c[] = {3, 17}, d[] = {1};
  store->declare("model.layers.0.input_layernorm.weight", b, 1);
  store->declare("model.layers.0.mlp.up_proj.weight", a, 2);
  store->declare("model.norm.weight", d, 1);
  store->declare("model.embed_tokens.weight", c, 2);
  store->allocate(cpu_backend());
  uint64_t state = 11;
  for (size_t i = 0; i < store->slots().size(); ++i)
    for (float* buffer : {store->value(i).as<float>(), store->grad(i).as<float>()})
      for (int64_t e = 0; e < store->slots()[i].numel(); ++e) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        buffer[e] = static_cast<float>(static_cast<int64_t>(state >> 40) % 2001 - 1000) * 1e-3f;
      }
  return store;
}

TEST(OptimizerShard, ShardsUpdateEveryElementAsTheWholeOptimizer) {
  const AdamWSettings settings{.weight_decay = 0.1};
  auto whole = odd_store();
  AdamWOptimizer reference(cpu_backend(), *whole, settings);
  for (int step = 0; step < 3; ++step) reference.step(1e-2);
  const int64_t n = whole->elements();

  for (int ranks : {2, 3, 4}) {
    std::vector<float> gathered(static_cast<size_t>(n), 0.f);
    for (int rank = 0; rank < ranks; ++rank) {
      auto store = odd_store();
      const Share shard = buffer_shard(n, rank, ranks);
      AdamWOptimizer optimizer(cpu_backend(), *store, settings, shard.begin, shard.end);
      EXPECT_TRUE(store->moments_sharded());
      for (int step = 0; step < 3; ++step) optimizer.step(1e-2);
      std::copy(store->values() + shard.begin, store->values() + shard.end, gathered.begin() + shard.begin);
      // Outside the shard nothing moved.
      auto fresh = odd_store();
      for (int64_t e = 0; e < n; ++e) {
        if (shard.contains(e)) continue;
        ASSERT_EQ(store->values()[e], fresh->values()[e]) << "rank " << rank << " element " << e;
      }
    }
    for (int64_t e = 0; e < n; ++e)
      ASSERT_EQ(gathered[static_cast<size_t>(e)], whole->values()[e]) << ranks << " ranks, element " << e;
  }
}

}  // namespace
}  // namespace ll
