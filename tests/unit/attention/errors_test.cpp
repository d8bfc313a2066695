// Bad input is an InputError naming the field, what was expected and what was found; never a crash.
#include <gtest/gtest.h>

#include <string>

#include "core/arena.h"
#include "core/error.h"
#include "kernels/attention/attention.h"

namespace ll {
namespace {

struct Buffers {
  std::vector<float> q, k, v, o, lse, dout, dq, dk, dv;
  Buffers(const AttentionShape& s)
      : q(s.batch * s.max_len * s.q_heads * s.head_dim, 0.5f),
        k(s.batch * s.max_len * s.kv_heads * s.head_dim, 0.5f),
        v(k.size(), 0.5f),
        o(q.size()),
        lse(s.batch * s.q_heads * s.max_len),
        dout(q.size(), 0.5f),
        dq(q.size()),
        dk(k.size()),
        dv(k.size()) {}
};

AttentionShape small_shape() {
  AttentionShape s;
  s.batch = 2;
  s.max_len = 10;
  s.q_heads = 4;
  s.kv_heads = 2;
  s.head_dim = 8;
  return s;
}

// The message of the InputError that forward throws (empty when it does not throw).
std::string forward_error(const AttentionShape& s, const AttentionMask& m, DType q_dtype = DType::F32,
                          const AttentionTuning& tuning = {}) {
  AttentionShape buffers_shape = s;
  buffers_shape.q_heads = std::max<int64_t>(s.q_heads, 1);
  buffers_shape.kv_heads = std::max<int64_t>(s.kv_heads, 1);
  Buffers b(buffers_shape);
  const AttentionQKV in{{b.q.data(), q_dtype, s.max_len * s.q_heads * s.head_dim, s.q_heads * s.head_dim},
                        contiguous_heads(b.k.data(), DType::F32, s.max_len, s.kv_heads, s.head_dim),
                        contiguous_heads(b.v.data(), DType::F32, s.max_len, s.kv_heads, s.head_dim)};
  Arena arena;
  try {
    attention_forward(s, m, in, contiguous_heads(b.o.data(), DType::F32, s.max_len, s.q_heads, s.head_dim),
                      b.lse.data(), arena, tuning);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(AttentionErrors, ShapesAndLengths) {
  AttentionShape s = small_shape();
  EXPECT_EQ(forward_error(s, {}), "");
  s.kv_heads = 3;
  EXPECT_EQ(forward_error(s, {}), "attention: key/value heads: expected a divisor of the 4 query heads, found 3");
  s = small_shape();
  s.lengths = {10, 11};
  EXPECT_EQ(forward_error(s, {}), "attention: length of row 1: expected 0 to 10, found 11");
  s.lengths = {10};
  EXPECT_EQ(forward_error(s, {}), "attention: lengths: expected 2 (one per row), found 1");
  s = small_shape();
  EXPECT_EQ(forward_error(s, {}, DType::I32), "attention: q dtype: expected f32, bf16 or f16, found i32");
}

TEST(AttentionErrors, MaskSettings) {
  const AttentionShape s = small_shape();
  AttentionMask m;
  m.mode = AttentionMode::S2Shift;
  m.s2_group = -4;
  EXPECT_EQ(forward_error(s, m), "attention: S² group size: expected a positive number of tokens, found -4");
  m.s2_group = 0;
  m.s2_ratio = 1.5;
  EXPECT_EQ(forward_error(s, m), "attention: S² group ratio: expected a ratio in (0, 1], found 1.5");
  m.s2_ratio = 0.25;
  m.doc_starts = {{0, 4}, {6, 3}};
  EXPECT_EQ(forward_error(s, m),
            "attention: document start in row 1: expected increasing offsets in [0, 10), found 3");
  m.doc_starts = {{0, 10}, {}};
  EXPECT_EQ(forward_error(s, m),
            "attention: document start in row 0: expected increasing offsets in [0, 10), found 10");
  m.doc_starts = {{2}};
  EXPECT_EQ(forward_error(s, m), "attention: document starts: expected 2 lists (one per row), found 1");
}

TEST(AttentionErrors, TuningAndBackwardInputs) {
  const AttentionShape s = small_shape();
  AttentionTuning t;
  t.query_tile = 5000;
  EXPECT_EQ(forward_error(s, {}, DType::F32, t), "attention: query tile: expected 0 (default) to 1024, found 5000");
  if (!cpu_isa_available(CpuIsa::Avx512)) {
    t = {};
    t.isa = CpuIsa::Avx512;
    EXPECT_EQ(forward_error(s, {}, DType::F32, t), "attention: instruction set 'avx512' is not available here");
  }
  Buffers b(s);
  const AttentionQKV in{contiguous_heads(b.q.data(), DType::F32, 10, 4, 8),
                        contiguous_heads(b.k.data(), DType::F32, 10, 2, 8),
                        contiguous_heads(b.v.data(), DType::F32, 10, 2, 8)};
  const HeadsView o = contiguous_heads(b.o.data(), DType::F32, 10, 4, 8);
  const AttentionQKV grads{contiguous_heads(b.dq.data(), DType::F32, 10, 4, 8),
                           {b.dk.data(), DType::BF16, 160, 16},
                           contiguous_heads(b.dv.data(), DType::F32, 10, 2, 8)};
  Arena arena;
  try {
    attention_backward(s, {}, in, o, b.lse.data(), contiguous_heads(b.dout.data(), DType::F32, 10, 4, 8), grads, arena);
    ADD_FAILURE() << "bf16 dk accepted";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "attention: dk dtype: expected f32, found bf16");
  }
}

TEST(AttentionErrors, CachedQueriesOutsideTheCache) {
  CachedAttentionShape s;
  s.batch = 1;
  s.max_queries = 4;
  s.cache_len = 16;
  s.q_heads = 2;
  s.kv_heads = 2;
  s.head_dim = 8;
  s.q_start = {14};
  s.q_len = {3};
  std::vector<float> q(4 * 2 * 8, 0.5f), kv(16 * 2 * 8, 0.5f), o(q.size());
  const AttentionQKV in{contiguous_heads(q.data(), DType::F32, 4, 2, 8),
                        contiguous_heads(kv.data(), DType::F32, 16, 2, 8),
                        contiguous_heads(kv.data(), DType::F32, 16, 2, 8)};
  Arena arena;
  try {
    attention_forward_cached(s, in, contiguous_heads(o.data(), DType::F32, 4, 2, 8), nullptr, arena);
    ADD_FAILURE() << "queries past the cache accepted";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "attention: queries of row 0: expected positions inside the cache of 16, found [14, 17)");
  }
}

}  // namespace
}  // namespace ll
