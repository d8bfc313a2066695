// Seeded row order, the epoch walker and its cursor, fingerprints, summary numbers.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "train/data_order.h"
#include "train/data_summary.h"
#include "train_data_test_util.h"

namespace ll::test {
namespace {

bool is_permutation_of_range(std::vector<int64_t> order, int64_t n) {
  if (static_cast<int64_t>(order.size()) != n) return false;
  std::sort(order.begin(), order.end());
  for (int64_t i = 0; i < n; ++i)
    if (order[i] != i) return false;
  return true;
}

TEST(SeededPermutation, IsAPermutationForOddSizes) {
  for (int64_t n : {1, 2, 3, 17, 559, 1001}) EXPECT_TRUE(is_permutation_of_range(seeded_permutation(n, 42, 0), n)) << n;
  EXPECT_TRUE(seeded_permutation(0, 42, 0).empty());
}

TEST(SeededPermutation, DeterministicForASeedAndDifferentAcrossEpochsAndSeeds) {
  const int64_t n = 559;
  EXPECT_EQ(seeded_permutation(n, 42, 3), seeded_permutation(n, 42, 3));
  EXPECT_NE(seeded_permutation(n, 42, 0), seeded_permutation(n, 42, 1));
  EXPECT_NE(seeded_permutation(n, 42, 0), seeded_permutation(n, 43, 0));
  std::vector<int64_t> identity(n);
  std::iota(identity.begin(), identity.end(), int64_t{0});
  EXPECT_NE(seeded_permutation(n, 42, 0), identity);
}

// The generator and Fisher-Yates are ours, so the order is the same on every platform and
// compiler. Pinned (values from an independent Python transcription of SplitMix64 + Lemire +
// Fisher-Yates): a change would silently change every resumed run's data order.
TEST(SeededPermutation, PinnedOrder) {
  EXPECT_EQ(seeded_permutation(10, 42, 0), (std::vector<int64_t>{9, 8, 7, 3, 4, 6, 2, 1, 0, 5}));
  EXPECT_EQ(seeded_permutation(10, 42, 1), (std::vector<int64_t>{1, 9, 6, 4, 8, 3, 5, 0, 7, 2}));
}

// Every position of the permutation is roughly uniform over rows: no modulo bias or stuck slot.
TEST(SeededPermutation, RoughlyUniform) {
  const int64_t n = 7, trials = 7000;
  std::vector<std::vector<int>> counts(n, std::vector<int>(n, 0));
  for (int64_t epoch = 0; epoch < trials; ++epoch) {
    const std::vector<int64_t> order = seeded_permutation(n, 9, epoch);
    for (int64_t i = 0; i < n; ++i) ++counts[i][order[i]];
  }
  for (int64_t i = 0; i < n; ++i)
    for (int64_t r = 0; r < n; ++r) EXPECT_NEAR(counts[i][r], trials / n, 150) << "position " << i << " row " << r;
}

EpochWalker shuffled_walker(int64_t rows, uint64_t seed, const std::string& fingerprint = "f") {
  return EpochWalker(rows, seed, fingerprint, [=](int64_t epoch) { return seeded_permutation(rows, seed, epoch); });
}

TEST(EpochWalker, ReadsEachEpochInItsOrderAndWraps) {
  EpochWalker walker = shuffled_walker(13, 7);
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    const std::vector<int64_t> expected = seeded_permutation(13, 7, epoch);
    for (int64_t i = 0; i < 13; ++i) {
      EXPECT_EQ(walker.epoch(), epoch);
      ASSERT_EQ(walker.next(), expected[i]);
    }
  }
  EXPECT_EQ(walker.epoch(), 3);
  EXPECT_EQ(walker.index(), 0);
}

TEST(EpochWalker, CursorRestoreContinuesExactly) {
  EpochWalker reference = shuffled_walker(11, 5);
  EpochWalker interrupted = shuffled_walker(11, 5);
  for (int i = 0; i < 25; ++i) {
    reference.next();
    interrupted.next();
  }
  // Through a JSON round trip, as a checkpoint stores it.
  const nlohmann::json saved = nlohmann::json::parse(interrupted.cursor().dump());
  EpochWalker resumed = shuffled_walker(11, 5);
  resumed.restore(saved);
  for (int i = 0; i < 40; ++i) ASSERT_EQ(resumed.next(), reference.next()) << i;
}

TEST(EpochWalker, RefusesForeignOrMalformedCursors) {
  EpochWalker walker = shuffled_walker(11, 5, "abc");
  walker.next();
  const nlohmann::json cursor = walker.cursor();

  EpochWalker other_data = shuffled_walker(11, 5, "xyz");
  EXPECT_NE(input_error_of([&] { other_data.restore(cursor); }).find("other data"), std::string::npos);
  EpochWalker other_seed = shuffled_walker(11, 6, "abc");
  EXPECT_NE(input_error_of([&] { other_seed.restore(cursor); }).find("seed"), std::string::npos);

  EpochWalker same = shuffled_walker(11, 5, "abc");
  nlohmann::json bad = cursor;
  bad["index"] = 11;
  EXPECT_NE(input_error_of([&] { same.restore(bad); }).find("index"), std::string::npos);
  bad = cursor;
  bad["epoch"] = "one";
  EXPECT_NE(input_error_of([&] { same.restore(bad); }).find("epoch"), std::string::npos);
  bad = cursor;
  bad.erase("fingerprint");
  EXPECT_NE(input_error_of([&] { same.restore(bad); }).find("data cursor"), std::string::npos);
  EXPECT_NE(input_error_of([&] { same.restore(nlohmann::json::array()); }).find("data cursor"), std::string::npos);
}

TEST(Fingerprint, DependsOnEveryValueAndItsOrder) {
  auto hex = [](std::initializer_list<uint64_t> values, std::string_view tag) {
    Fingerprint f;
    f.add(tag);
    for (uint64_t v : values) f.add(v);
    return f.hex();
  };
  EXPECT_EQ(hex({1, 2, 3}, "a").size(), 16u);
  EXPECT_EQ(hex({1, 2, 3}, "a"), hex({1, 2, 3}, "a"));
  EXPECT_NE(hex({1, 2, 3}, "a"), hex({1, 3, 2}, "a"));
  EXPECT_NE(hex({1, 2, 3}, "a"), hex({1, 2, 3}, "b"));
  EXPECT_NE(hex({1, 2, 3}, "a"), hex({1, 2, 4}, "a"));
}

TEST(ShortCount, ThreeSignificantDigits) {
  EXPECT_EQ(short_count(0), "0");
  EXPECT_EQ(short_count(999), "999");
  EXPECT_EQ(short_count(1000), "1.00K");
  EXPECT_EQ(short_count(12345), "12.3K");
  EXPECT_EQ(short_count(506058), "506K");
  EXPECT_EQ(short_count(999999), "1.00M");
  EXPECT_EQ(short_count(2290659), "2.29M");
  EXPECT_EQ(short_count(4200000000), "4.20G");
}

TEST(DataName, LastPathComponent) {
  EXPECT_EQ(data_name("/data/austen/"), "austen");
  EXPECT_EQ(data_name("/data/austen"), "austen");
  EXPECT_EQ(data_name("x/a.txt"), "a.txt");
  EXPECT_EQ(data_name("a.bin"), "a.bin");
}

}  // namespace
}  // namespace ll::test
