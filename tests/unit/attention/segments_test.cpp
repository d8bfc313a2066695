// The mask as segments (segments.cpp) and the tasks built from them (plan.cpp), against the mask
// written straight from DESIGN.md §2 (reference.cpp's visible()).
#include <gtest/gtest.h>

#include <random>

#include "kernels/attention/plan.h"
#include "kernels/attention/segments.h"
#include "unit/attention/reference.h"

namespace ll {
namespace {

using attn::Segment;

AttentionMask s2(AttentionMode mode, int64_t group) {
  AttentionMask m;
  m.mode = mode;
  m.s2_group = group;
  return m;
}

std::vector<Segment> segs(const AttentionMask& m, int64_t len, int cls, std::vector<int64_t> docs = {}) {
  return attn::row_segments(m, len, cls, docs);
}

// max_attention_span (what a sliding window must cover to change nothing) is the largest t − s + 1 over
// the pairs the mask lets see each other, for every mode, group and length around the group.
TEST(AttentionSegments, MaxSpanIsTheWidestVisiblePair) {
  for (AttentionMode mode : {AttentionMode::Causal, AttentionMode::S2Shift, AttentionMode::S2Roll})
    for (int64_t group : {1, 4, 7, 8})
      for (int64_t len = 1; len <= 19; ++len) {
        const AttentionMask m = s2(mode, group);
        int64_t widest = 0;
        for (int cls = 0; cls < 2; ++cls)
          for (int64_t t = 0; t < len; ++t)
            for (int64_t s = 0; s < len; ++s)
              if (attn_test::visible(m, len, cls, {}, t, s)) widest = std::max(widest, t - s + 1);
        EXPECT_EQ(max_attention_span(m, len), widest)
            << attention_mode_name(mode) << ", group " << group << ", length " << len;
      }
  AttentionMask ratio;
  ratio.mode = AttentionMode::S2Shift;  // G = floor(len / 4): LongLoRA's default at 16384 is 4096
  EXPECT_EQ(max_attention_span(ratio, 16384), 4096);
}

TEST(AttentionSegments, ShiftLayoutOfLongLoRAsFlashPath) {
  const AttentionMask m = s2(AttentionMode::S2Shift, 8);
  EXPECT_EQ(segs(m, 16, 0), (std::vector<Segment>{{0, 8}, {8, 16}}));
  EXPECT_EQ(segs(m, 16, 1), (std::vector<Segment>{{0, 4}, {4, 12}, {12, 16}}));
  // G = 4 does not divide 11: partial last segments, clipped at N.
  const AttentionMask m4 = s2(AttentionMode::S2Shift, 4);
  EXPECT_EQ(segs(m4, 11, 0), (std::vector<Segment>{{0, 4}, {4, 8}, {8, 11}}));
  EXPECT_EQ(segs(m4, 11, 1), (std::vector<Segment>{{0, 2}, {2, 6}, {6, 10}, {10, 11}}));
}

TEST(AttentionSegments, RollWrapsTheLastGroupAround) {
  // Rolled by −4: groups [4,12) and [12,16)+[0,4); the tokens [0,4) also see [12,16).
  EXPECT_EQ(segs(s2(AttentionMode::S2Roll, 8), 16, 1), (std::vector<Segment>{{0, 4, 12, 16}, {4, 12}, {12, 16}}));
  // N = 11, G = 4: rolled groups [2,6), [6,10) and the partial [10,11)+[0,2).
  EXPECT_EQ(segs(s2(AttentionMode::S2Roll, 4), 11, 1),
            (std::vector<Segment>{{0, 2, 10, 11}, {2, 6}, {6, 10}, {10, 11}}));
  // N = 10, G = 4: the partial last rolled group is exactly [0, 2): nothing wraps.
  EXPECT_EQ(segs(s2(AttentionMode::S2Roll, 4), 10, 1), (std::vector<Segment>{{0, 2}, {2, 6}, {6, 10}}));
  // First-half heads: plain groups.
  EXPECT_EQ(segs(s2(AttentionMode::S2Roll, 4), 10, 0), (std::vector<Segment>{{0, 4}, {4, 8}, {8, 10}}));
}

TEST(AttentionSegments, GroupFromRatioAndShortRowsAreCausal) {
  AttentionMask m;
  m.mode = AttentionMode::S2Shift;
  m.s2_ratio = 0.25;
  EXPECT_EQ(attn::s2_group_size(m, 64), 16);
  EXPECT_EQ(attn::s2_group_size(m, 63), 15);
  EXPECT_EQ(attn::s2_group_size(m, 3), 1);
  EXPECT_EQ(segs(m, 16, 1), (std::vector<Segment>{{0, 2}, {2, 6}, {6, 10}, {10, 14}, {14, 16}}));
  const AttentionMask big = s2(AttentionMode::S2Roll, 64);
  EXPECT_EQ(segs(big, 64, 1), (std::vector<Segment>{{0, 64}}));
  EXPECT_EQ(segs(big, 40, 0), (std::vector<Segment>{{0, 40}}));
  EXPECT_TRUE(segs(big, 0, 1).empty());
}

TEST(AttentionSegments, DocumentsSplitSegmentsAndPrefixes) {
  const AttentionMask shift = s2(AttentionMode::S2Shift, 8);
  EXPECT_EQ(segs(shift, 16, 0, {5}), (std::vector<Segment>{{0, 5}, {5, 8}, {8, 16}}));
  EXPECT_EQ(segs(shift, 16, 1, {0, 5}), (std::vector<Segment>{{0, 4}, {4, 5}, {5, 12}, {12, 16}}));
  // Roll: the wrapped tokens [0,4) would see [12,16); documents start at 2 and 14.
  EXPECT_EQ(segs(s2(AttentionMode::S2Roll, 8), 16, 1, {2, 14}),
            (std::vector<Segment>{{0, 2}, {2, 4, 12, 14}, {4, 12}, {12, 14}, {14, 16}}));
  AttentionMask causal;
  EXPECT_EQ(segs(causal, 10, 0, {3, 7}), (std::vector<Segment>{{0, 3}, {3, 7}, {7, 10}}));
}

// Random masks: the segments cover every query once, and "s in the causal part or the prefix of
// t's segment" is exactly DESIGN.md's mask.
TEST(AttentionSegments, AgreeWithTheMaskOnRandomRows) {
  std::mt19937 rng(7);
  const AttentionMode modes[] = {AttentionMode::Causal, AttentionMode::S2Shift, AttentionMode::S2Roll};
  for (int trial = 0; trial < 600; ++trial) {
    AttentionMask m;
    m.mode = modes[trial % 3];
    const int64_t len = 1 + rng() % 70;
    if (rng() % 2) {
      m.s2_group = 1 + rng() % 40;
    } else {
      m.s2_ratio = 0.05 + 0.95 * (rng() % 1000) / 1000.0;
    }
    std::vector<int64_t> docs;
    if (rng() % 2)
      for (int64_t t = 0; t < len; ++t)
        if (rng() % 9 == 0) docs.push_back(t);
    for (int cls = 0; cls < 2; ++cls) {
      const auto row = attn::row_segments(m, len, cls, docs);
      std::vector<int> owner(len, -1);
      for (size_t i = 0; i < row.size(); ++i) {
        ASSERT_LT(row[i].begin, row[i].end);
        if (i > 0) {
          ASSERT_LT(row[i - 1].begin, row[i].begin);
        }
        for (int64_t t = row[i].begin; t < row[i].end; ++t) {
          ASSERT_EQ(owner[t], -1) << "query " << t << " in two segments";
          owner[t] = static_cast<int>(i);
        }
      }
      for (int64_t t = 0; t < len; ++t) {
        ASSERT_GE(owner[t], 0) << "query " << t << " in no segment";
        const Segment& seg = row[owner[t]];
        for (int64_t s = 0; s < len; ++s) {
          const bool from_segments =
              (seg.begin <= s && s <= t) || (seg.prefix_begin <= s && s < seg.prefix_end);
          ASSERT_EQ(from_segments, attn_test::visible(m, len, cls, docs, t, s))
              << attention_mode_name(m.mode) << " len " << len << " G " << attn::s2_group_size(m, len) << " class "
              << cls << " docs " << docs.size() << " t " << t << " s " << s;
        }
      }
    }
  }
}

// The tasks: the keys each query tile visits (with the diagonal mask) and the queries each key block
// visits are exactly the visible pairs, for GQA groups that span both head classes.
TEST(AttentionPlan, TasksVisitExactlyTheVisiblePairs) {
  std::mt19937 rng(11);
  const AttentionMode modes[] = {AttentionMode::Causal, AttentionMode::S2Shift, AttentionMode::S2Roll};
  for (int trial = 0; trial < 60; ++trial) {
    AttentionShape shape;
    shape.batch = 2;
    shape.max_len = 1 + rng() % 60;
    shape.lengths = {shape.max_len, static_cast<int64_t>(rng() % (shape.max_len + 1))};
    shape.kv_heads = 1 + rng() % 2;
    shape.q_heads = shape.kv_heads * (1 + rng() % 3);
    shape.head_dim = 8;
    AttentionMask m;
    m.mode = modes[trial % 3];
    m.s2_group = 1 + rng() % 20;
    if (trial % 2) {
      m.doc_starts.resize(2);
      for (int64_t b = 0; b < 2; ++b)
        for (int64_t t = 1; t < shape.lengths[b]; ++t)
          if (rng() % 7 == 0) m.doc_starts[b].push_back(t);
    }
    attn::AttentionPlan plan = attn::plan_attention(shape, m, 1 + rng() % 9, 1 + rng() % 9);
    attn::plan_key_tasks(plan);

    // visits[b][h][t][s]: how often the pair is visited.
    const int64_t T = shape.max_len;
    std::vector<int> by_query(2 * shape.q_heads * T * T, 0), by_key(2 * shape.q_heads * T * T, 0);
    auto at = [&](int64_t b, int64_t h, int64_t t, int64_t s) { return ((b * shape.q_heads + h) * T + t) * T + s; };
    for (const attn::QueryTask& task : plan.query_tasks) {
      attn::TokenRange ranges[3];
      const int n = attn::keys_of(task, ranges);
      for (int i = 0; i < n; ++i)
        for (int64_t s = ranges[i].begin; s < ranges[i].end; ++s)
          for (int64_t t = task.begin; t < task.end; ++t)
            if (!ranges[i].diagonal || s <= t) ++by_query[at(task.b, task.h, t, s)];
    }
    std::vector<attn::TokenRange> ranges;
    for (const attn::KeyTask& task : plan.key_tasks) {
      for (int64_t h = task.g * plan.group(); h < (task.g + 1) * plan.group(); ++h) {
        attn::queries_of(plan.rows[task.b], attn::head_class(h, shape.q_heads), task.begin, task.end, ranges);
        for (const attn::TokenRange& r : ranges)
          for (int64_t t = r.begin; t < r.end; ++t)
            for (int64_t s = task.begin; s < task.end; ++s)
              if (!r.diagonal || s <= t) ++by_key[at(task.b, h, t, s)];
      }
    }
    for (int64_t b = 0; b < 2; ++b) {
      const int64_t len = shape.lengths[b];
      std::span<const int64_t> docs;
      if (!m.doc_starts.empty()) docs = m.doc_starts[b];
      for (int64_t h = 0; h < shape.q_heads; ++h)
        for (int64_t t = 0; t < T; ++t)
          for (int64_t s = 0; s < T; ++s) {
            const int cls = attn::head_class(h, shape.q_heads);
            const bool seen = t < len && s < len && attn_test::visible(m, len, cls, docs, t, s);
            const std::string where = "b " + std::to_string(b) + " h " + std::to_string(h) + " t " +
                                      std::to_string(t) + " s " + std::to_string(s);
            ASSERT_EQ(by_query[at(b, h, t, s)], seen ? 1 : 0) << "query tasks: " << where;
            ASSERT_EQ(by_key[at(b, h, t, s)], seen ? 1 : 0) << "key tasks: " << where;
          }
    }
  }
}

}  // namespace
}  // namespace ll
