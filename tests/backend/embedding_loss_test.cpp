// Embedding and loss: embedding_forward (f32/f16/bf16 tables made resident), embedding_backward with
// repeated ids, softmax_cross_entropy and cross_entropy_loss with ignored targets (−100) and a grad_scale.
#include "backend/harness.h"

namespace ll::backend_test {
namespace {

class BackendEmbeddingLoss : public BackendTest {};
INSTANTIATE_BACKEND_SUITE(BackendEmbeddingLoss);

const std::vector<int32_t> kIds = {3, 0, 22, 3, 7, 3, 22, 15, 1, 0, 9};  // repeats; the first and last rows
constexpr int64_t kV = 23, kC = 37;

// Rows of the table, widened: exact, so bit for bit.
TEST_P(BackendEmbeddingLoss, EmbeddingForward) {
  Backend& b = backend();
  std::mt19937 rng(40);
  const int64_t n = static_cast<int64_t>(kIds.size());
  const std::vector<float> values = nonzero_floats(kV * kC, rng, 0.01f, 8.0f);
  for (DType dtype : {DType::F32, DType::F16, DType::BF16}) {
    SCOPED_TRACE(dtype_name(dtype));
    const std::vector<uint16_t> bits = dtype == DType::F16 ? to_f16_bits(values) : to_bf16_bits(values);
    const void* data = dtype == DType::F32 ? static_cast<const void*>(values.data()) : bits.data();
    OwnedTensor keep;
    const Tensor table = b.resident(Tensor::view(data, dtype, {kV, kC}), keep);
    DeviceArray<int32_t> ids(b, kIds);
    DeviceArray<float> y(b, std::vector<float>(n * kC, kNaN));
    b.embedding_forward(y.data(), ids.data(), n, table);
    const std::vector<double> rows = values_of(dtype, values, bits);
    std::vector<float> want(n * kC);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < kC; ++c) want[i * kC + c] = static_cast<float>(rows[kIds[i] * kC + c]);
    expect_bits_equal(y.read(), want, "y");
  }
}

// dtable[ids[i]] += dy[i]: a row hit k times sums k + 1 terms, within γ_{k+1}·(|dtable₀| + Σ|dy|).
TEST_P(BackendEmbeddingLoss, EmbeddingBackward) {
  Backend& b = backend();
  std::mt19937 rng(41);
  const int64_t n = static_cast<int64_t>(kIds.size());
  const std::vector<float> dy = nonzero_floats(n * kC, rng), d0 = nonzero_floats(kV * kC, rng);
  DeviceArray<int32_t> ids(b, kIds);
  DeviceArray<float> ddy(b, dy), dtable(b, d0);
  b.embedding_backward(dtable.data(), ddy.data(), ids.data(), n, kV, kC);
  std::vector<double> ref(kV * kC, 0.0), mag(kV * kC), bound(kV * kC);
  std::vector<int64_t> hits(kV, 0);
  for (int32_t id : kIds) ++hits[id];
  for (int64_t i = 0; i < kV * kC; ++i) mag[i] = std::fabs(d0[i]);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < kC; ++c) {
      ref[kIds[i] * kC + c] += dy[i * kC + c];
      mag[kIds[i] * kC + c] += std::fabs(dy[i * kC + c]);
    }
  for (int64_t i = 0; i < kV * kC; ++i) bound[i] = gamma_f32(hits[i / kC] + 1) * mag[i];
  // L = Σ dy ∘ table[ids]
  const std::vector<double> fd = central_differences(widen(nonzero_floats(kV * kC, rng)), [&](const std::vector<double>& t) {
    double l = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < kC; ++c) l += dy[i * kC + c] * t[kIds[i] * kC + c];
    return l;
  });
  expect_gradient(dtable.read(), widen(d0), ref, fd, bound, "dtable");
}

// ---- cross-entropy ----

constexpr int32_t kIgnore = -100;

// Σ over rows with a target of logsumexp(x) − x[target], in double.
double ce_loss(const std::vector<double>& logits, const std::vector<int32_t>& targets, int64_t V) {
  double total = 0;
  for (size_t r = 0; r < targets.size(); ++r) {
    if (targets[r] == kIgnore) continue;
    const double* x = logits.data() + r * V;
    const double mx = *std::max_element(x, x + V);
    double sum = 0;
    for (int64_t c = 0; c < V; ++c) sum += std::exp(x[c] - mx);
    total += mx + std::log(sum) - x[targets[r]];
  }
  return total;
}

// The op sums e^(x − max) in f32: each term within (4 + |x − max|)·u (e^x to 2 ulp, the argument's
// rounding magnified by |x − max| ≤ 8 here), their sum within γ_{V+12}, which its log turns into an
// absolute error of a row's loss: rows·γ_{V+12} for the total (plus 2^-50 of it for double sums).
// dlogits = (softmax − onehot)·grad_scale: softmax_i within γ_{V+14}, the target's −grad_scale adds u.
TEST_P(BackendEmbeddingLoss, CrossEntropy) {
  Backend& b = backend();
  std::mt19937 rng(42);
  const float grad_scale = 1.0f / 5.3f;
  for (int64_t V : {131, 521}) {  // beyond the kernel's 16 lanes, and beyond its 256-element blocks
    SCOPED_TRACE("V=" + std::to_string(V));
    const std::vector<int32_t> targets = {5, kIgnore, static_cast<int32_t>(V - 1), 0, 64, kIgnore, 77};
    const int64_t rows = static_cast<int64_t>(targets.size());
    const std::vector<float> logits = nonzero_floats(rows * V, rng, 0.01f, 4.0f);
    const std::vector<double> x = widen(logits);
    const double loss = ce_loss(x, targets, V);
    int64_t counted = 0;
    for (int32_t t : targets) counted += t != kIgnore;
    const double loss_bound = static_cast<double>(counted) * gamma_f32(V + 12) + 0x1p-50 * std::fabs(loss);

    DeviceArray<int32_t> dt(b, targets);
    DeviceArray<float> dl(b, logits);
    EXPECT_NEAR(b.cross_entropy_loss(dl.data(), dt.data(), rows, V), loss, loss_bound) << "cross_entropy_loss";
    expect_bits_equal(dl.read(), logits, "cross_entropy_loss leaves the logits");
    EXPECT_NEAR(b.softmax_cross_entropy(dl.data(), dt.data(), rows, V, grad_scale), loss, loss_bound)
        << "softmax_cross_entropy's loss";

    std::vector<double> ref(rows * V, 0.0), bound(rows * V, 0.0);
    for (int64_t r = 0; r < rows; ++r) {
      if (targets[r] == kIgnore) continue;  // all-zero gradient, bound 0
      const double* xr = x.data() + r * V;
      const double mx = *std::max_element(xr, xr + V);
      double sum = 0;
      for (int64_t c = 0; c < V; ++c) sum += std::exp(xr[c] - mx);
      for (int64_t c = 0; c < V; ++c) {
        const double p = std::exp(xr[c] - mx) / sum * grad_scale;
        ref[r * V + c] = p - (c == targets[r] ? grad_scale : 0.0);
        bound[r * V + c] = gamma_f32(V + 14) * p + (c == targets[r] ? kU * grad_scale : 0.0);
      }
    }
    // d(grad_scale · loss)/d logits, at every element of the small case and 300 of the large one.
    const std::vector<size_t> which = V > 200 ? sample_indices(rows * V, 300, rng) : std::vector<size_t>{};
    const std::vector<double> fd = central_differences(
        x, [&](const std::vector<double>& v) { return grad_scale * ce_loss(v, targets, V); }, which);
    expect_gradient(dl.read(), {}, ref, fd, bound, "dlogits");
  }
}

}  // namespace
}  // namespace ll::backend_test
