#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/half.h"
#include "core/tensor.h"
#include "core/threads.h"
#include "kernels/embedding.h"
#include "unit/kernels/grad_check.h"

namespace ll {
namespace {

using test::random_floats;

std::vector<int32_t> random_ids(size_t n, int64_t V, std::mt19937& rng) {
  std::uniform_int_distribution<int32_t> dist(0, static_cast<int32_t>(V - 1));
  std::vector<int32_t> ids(n);
  for (auto& id : ids) id = dist(rng);
  return ids;
}

// Every dtype: the rows come out exactly as the table holds them (widened to f32).
TEST(Embedding, ForwardCopiesRowsOfEveryDtype) {
  const int64_t V = 53, n = 19;
  const int C = 37;
  std::mt19937 rng(1);
  const std::vector<float> values = random_floats(V * C, rng);
  const std::vector<int32_t> ids = random_ids(n, V, rng);
  for (DType dt : {DType::F32, DType::F16, DType::BF16}) {
    OwnedTensor table(dt, {V, C});
    from_f32(table.data(), dt, values.data(), V * C);
    std::vector<float> exact(V * C);
    to_f32(exact.data(), table.data(), dt, V * C);
    std::vector<float> y(n * C, -7.f);
    embedding_forward(y.data(), ids.data(), n, table.view());
    for (int64_t i = 0; i < n; ++i)
      for (int c = 0; c < C; ++c) ASSERT_EQ(y[i * C + c], exact[ids[i] * C + c]) << dtype_name(dt) << " " << i;
  }
}

// A table whose rows are padded (row stride > C) is read through its stride.
TEST(Embedding, ForwardFollowsRowStride) {
  const int64_t V = 11, C = 5, stride = 8;
  std::mt19937 rng(2);
  std::vector<float> storage = random_floats(V * stride, rng);
  Tensor table = Tensor::view(storage.data(), DType::F32, {V, C});
  table.stride[0] = stride;
  const std::vector<int32_t> ids = {10, 0, 3, 3};
  std::vector<float> y(ids.size() * C);
  embedding_forward(y.data(), ids.data(), static_cast<int64_t>(ids.size()), table);
  for (size_t i = 0; i < ids.size(); ++i)
    for (int c = 0; c < C; ++c) ASSERT_EQ(y[i * C + c], storage[ids[i] * stride + c]);
}

TEST(Embedding, OutOfRangeIdIsAnInputErrorNamingIdAndVocab) {
  const int64_t V = 512;
  const int C = 4;
  std::mt19937 rng(3);
  const std::vector<float> values = random_floats(V * C, rng);
  const Tensor table = Tensor::view(values.data(), DType::F32, {V, C});
  for (int32_t bad : {512, -1, 100000}) {
    const std::vector<int32_t> ids = {1, 2, bad, 3};
    std::vector<float> y(ids.size() * C, 42.f), dtable(V * C, 0.f);
    try {
      embedding_forward(y.data(), ids.data(), 4, table);
      ADD_FAILURE() << "no error for id " << bad;
    } catch (const InputError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(std::to_string(bad)), std::string::npos) << msg;
      EXPECT_NE(msg.find("512"), std::string::npos) << msg;
      EXPECT_NE(msg.find("position 2"), std::string::npos) << msg;
    }
    for (float v : y) ASSERT_EQ(v, 42.f);  // nothing written
    EXPECT_THROW(embedding_backward(dtable.data(), y.data(), ids.data(), 4, V, C), InputError);
    for (float v : dtable) ASSERT_EQ(v, 0.f);
  }
}

TEST(Embedding, RejectsNonFloatTable) {
  std::vector<int32_t> storage(12, 1);
  const Tensor table = Tensor::view(storage.data(), DType::I32, {3, 4});
  const int32_t id = 0;
  std::vector<float> y(4);
  EXPECT_THROW(embedding_forward(y.data(), &id, 1, table), InputError);
}

// L = Σ r·y with y = table[ids]: the accumulated dtable equals central differences of L with
// respect to the table (repeated ids included).
TEST(Embedding, BackwardMatchesFiniteDifferences) {
  const int64_t V = 13, n = 23;
  const int C = 7;
  std::mt19937 rng(4);
  const std::vector<float> table = random_floats(V * C, rng), r = random_floats(n * C, rng);
  const std::vector<int32_t> ids = random_ids(n, V, rng);
  const std::vector<float> dtable0 = random_floats(V * C, rng);
  std::vector<float> dtable = dtable0;
  embedding_backward(dtable.data(), r.data(), ids.data(), n, V, C);

  const std::vector<double> rd = test::to_double(r);
  auto loss = [&](const std::vector<double>& t) {
    double l = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int c = 0; c < C; ++c) l += rd[i * C + c] * t[ids[i] * C + c];
    return l;
  };
  std::vector<double> want = test::numeric_gradient(test::to_double(table), loss);
  for (size_t i = 0; i < want.size(); ++i) want[i] += dtable0[i];
  test::expect_close(dtable.data(), want, 1e-6, 1e-6, "dtable");
}

// Many repeats of few ids over many columns: bit-identical with 1 and 2 threads, and equal to the
// sequential sum in the order of i.
TEST(Embedding, BackwardIsDeterministic) {
  const int64_t V = 50, n = 3001;
  const int C = 301;
  std::mt19937 rng(5);
  const std::vector<float> dy = random_floats(n * C, rng);
  const std::vector<int32_t> ids = random_ids(n, V, rng);
  std::vector<float> sequential(V * C, 0.f);
  for (int64_t i = 0; i < n; ++i)
    for (int c = 0; c < C; ++c) sequential[ids[i] * C + c] += dy[i * C + c];
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    std::vector<float> dtable(V * C, 0.f);
    embedding_backward(dtable.data(), dy.data(), ids.data(), n, V, C);
    EXPECT_TRUE(test::bitwise_equal(dtable, sequential)) << threads << " threads";
  }
  set_num_threads(0);
}

}  // namespace
}  // namespace ll
