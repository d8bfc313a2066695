#include "formats/rope_layout.h"

#include <gtest/gtest.h>

#include "unit/formats/formats_test_util.h"

namespace ll {
namespace {

// Rows tagged with their index: [rows, 2] f32, row r = (r, -r).
OwnedTensor tagged_rows(int64_t rows) {
  OwnedTensor t(DType::F32, {rows, 2});
  for (int64_t r = 0; r < rows; ++r) {
    t.as<float>()[2 * r] = float(r);
    t.as<float>()[2 * r + 1] = -float(r);
  }
  return t;
}

std::vector<int> row_tags(const OwnedTensor& t) {
  std::vector<int> tags;
  for (int64_t r = 0; r < t.view().shape[0]; ++r) {
    EXPECT_EQ(t.as<float>()[2 * r + 1], -t.as<float>()[2 * r]);  // rows move whole
    tags.push_back(int(t.as<float>()[2 * r]));
  }
  return tags;
}

TEST(RopeLayout, MatchesLlamaCppPermute) {
  // llama.cpp: w.reshape(n_head, 2, D/2, in).swapaxes(1, 2): per head, rows (0..D/2-1) and
  // (D/2..D-1) interleave.
  const OwnedTensor one_head = tagged_rows(6);
  EXPECT_EQ(row_tags(rotate_half_to_interleaved(one_head.view(), 1)), (std::vector<int>{0, 3, 1, 4, 2, 5}));
  const OwnedTensor two_heads = tagged_rows(8);
  EXPECT_EQ(row_tags(rotate_half_to_interleaved(two_heads.view(), 2)),
            (std::vector<int>{0, 2, 1, 3, 4, 6, 5, 7}));
  EXPECT_EQ(row_tags(interleaved_to_rotate_half(one_head.view(), 1)), (std::vector<int>{0, 2, 4, 1, 3, 5}));
}

TEST(RopeLayout, TheTwoOrdersAreInverses) {
  struct Case {
    DType dtype;
    std::vector<int64_t> shape;
    int64_t n_head;
  };
  const Case cases[] = {{DType::F32, {3 * 6, 7}, 3},
                        {DType::BF16, {5 * 10, 3}, 5},
                        {DType::F16, {2 * 4, 1, 3}, 2},
                        {DType::F32, {4 * 4}, 4}};
  uint32_t seed = 40;
  for (const Case& c : cases) {
    const OwnedTensor w = test::random_tensor(c.dtype, c.shape, seed++);
    const OwnedTensor gguf = rotate_half_to_interleaved(w.view(), c.n_head);
    EXPECT_FALSE(test::same_bytes(gguf.view(), w.view()));  // something moved
    EXPECT_TRUE(test::same_bytes(interleaved_to_rotate_half(gguf.view(), c.n_head).view(), w.view()));
    const OwnedTensor hf = interleaved_to_rotate_half(w.view(), c.n_head);
    EXPECT_TRUE(test::same_bytes(rotate_half_to_interleaved(hf.view(), c.n_head).view(), w.view()));
  }
}

}  // namespace
}  // namespace ll
