// The backend's memory: allocation, fill_zero, upload/download/copy, copy_rows, convert_rows, load_as_f32,
// resident and prepare_weight. Everything here is exact (copies, widenings, and roundings to nearest even
// that the independent encoders of the harness reproduce), so every check is bit for bit.
#include <bit>
#include <cstring>

#include "backend/harness.h"

namespace ll::backend_test {
namespace {

class BackendMemory : public BackendTest {};
INSTANTIATE_BACKEND_SUITE(BackendMemory);

TEST_P(BackendMemory, AllocationsAreAlignedAndDisjoint) {
  Backend& b = backend();
  std::mt19937 rng(1);
  std::vector<DeviceArray<float>> arrays;
  std::vector<std::vector<float>> contents;
  for (size_t n : {1, 15, 16, 17, 1001, 4099}) {
    contents.push_back(nonzero_floats(n, rng));
    arrays.emplace_back(b, contents.back());
    EXPECT_EQ(reinterpret_cast<uintptr_t>(arrays.back().data()) % 64, 0u) << n << " floats";
  }
  for (size_t i = 0; i < arrays.size(); ++i) expect_bits_equal(arrays[i].read(), contents[i], "array " + std::to_string(i));
}

TEST_P(BackendMemory, FillZeroUploadDownloadCopyTouchOnlyTheirRange) {
  Backend& b = backend();
  std::mt19937 rng(2);
  const size_t n = 1001;
  const std::vector<float> init = nonzero_floats(n, rng), other = nonzero_floats(n, rng);
  DeviceArray<float> a(b, init), c(b, other);

  // fill_zero of [17, 630)
  b.fill_zero(a.data() + 17, 613 * sizeof(float));
  std::vector<float> want = init;
  std::fill(want.begin() + 17, want.begin() + 630, 0.0f);
  expect_bits_equal(a.read(), want, "fill_zero of [17, 630)");

  // upload of 5 floats at 3; download of [2, 9)
  const std::vector<float> five = nonzero_floats(5, rng);
  b.upload(a.data() + 3, five.data(), 5 * sizeof(float));
  std::copy(five.begin(), five.end(), want.begin() + 3);
  std::vector<float> window(7, kNaN);
  b.download(window.data(), a.data() + 2, 7 * sizeof(float));
  expect_bits_equal(window, std::vector<float>(want.begin() + 2, want.begin() + 9), "download of [2, 9)");

  // copy of c[100, 399) to a[500, 799), and a copy onto itself
  b.copy(a.data() + 500, c.data() + 100, 299 * sizeof(float));
  std::copy(other.begin() + 100, other.begin() + 399, want.begin() + 500);
  b.copy(a.data(), a.data(), n * sizeof(float));
  expect_bits_equal(a.read(), want, "copy within the backend");
  expect_bits_equal(c.read(), other, "the copy's source");
}

TEST_P(BackendMemory, CopyRowsWithStrides) {
  Backend& b = backend();
  std::mt19937 rng(3);
  const int64_t rows = 7, cols = 13;
  for (auto [lds, ldd] : {std::pair<int64_t, int64_t>{19, 23}, {13, 13}, {13, 17}, {21, 13}}) {
    SCOPED_TRACE("lds " + std::to_string(lds) + ", ldd " + std::to_string(ldd));
    const std::vector<float> src = nonzero_floats(rows * lds, rng), dst_init = nonzero_floats(rows * ldd, rng);
    DeviceArray<float> s(b, src), d(b, dst_init);
    b.copy_rows(d.data(), ldd, s.data(), lds, rows, cols);
    std::vector<float> want = dst_init;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) want[r * ldd + c] = src[r * lds + c];
    expect_bits_equal(d.read(), want, "copy_rows (padding between rows untouched)");
  }
}

// convert_rows stores f32 rows as f32, bf16 or f16 (a 16-bit KV cache): rounded to nearest even, ties
// and f16's subnormals and overflow included, bit for bit what the harness's own encoders give.
TEST_P(BackendMemory, ConvertRowsRoundsToNearestEvenWithStrides) {
  Backend& b = backend();
  std::mt19937 rng(31);
  const int64_t rows = 5, cols = 11, lds = 17, ldd = 13;
  std::vector<float> src = nonzero_floats(rows * lds, rng, 1e-3f, 300.0f);
  src[0] = 1.0f + 0x1p-9f;   // a bf16 tie (rounds to even: 1)
  src[1] = 1.0f + 0x1p-11f;  // an f16 tie
  src[2] = 3e-6f;            // an f16 subnormal
  src[3] = 70000.0f;         // past f16's largest: +Inf
  src[4] = -0.0f;
  DeviceArray<float> s(b, src);
  for (DType dtype : {DType::F32, DType::BF16, DType::F16}) {
    SCOPED_TRACE(dtype_name(dtype));
    if (dtype == DType::F32) {
      const std::vector<float> init = nonzero_floats(rows * ldd, rng);
      DeviceArray<float> d(b, init);
      b.convert_rows(d.data(), dtype, ldd, s.data(), lds, rows, cols);
      std::vector<float> want = init;
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) want[r * ldd + c] = src[r * lds + c];
      expect_bits_equal(d.read(), want, "convert_rows to f32");
      continue;
    }
    const std::vector<uint16_t> encoded = dtype == DType::F16 ? to_f16_bits(src) : to_bf16_bits(src);
    const std::vector<uint16_t> init(rows * ldd, 0x5555);
    DeviceArray<uint16_t> d(b, init);
    b.convert_rows(d.data(), dtype, ldd, s.data(), lds, rows, cols);
    std::vector<uint16_t> want = init;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) want[r * ldd + c] = encoded[r * lds + c];
    EXPECT_EQ(d.read(), want) << "convert_rows (padding between rows untouched)";
  }
}

// Widening f32/f16/bf16 is exact: the result must equal the independent decoders bit for bit.
TEST_P(BackendMemory, LoadAsF32WidensHostTensorsExactly) {
  Backend& b = backend();
  std::mt19937 rng(4);
  const int64_t n = 37;
  std::vector<float> values = nonzero_floats(n, rng, 1e-3f, 300.0f);
  values[0] = 65504.0f;                     // f16's largest
  values[1] = 3e-6f;                        // an f16 subnormal
  values[2] = -0.0f;
  values[3] = std::numeric_limits<float>::infinity();
  values[4] = -1e-40f;                      // an f32 subnormal
  for (DType dtype : {DType::F32, DType::F16, DType::BF16}) {
    SCOPED_TRACE(dtype_name(dtype));
    const std::vector<uint16_t> bits = dtype == DType::F16 ? to_f16_bits(values) : to_bf16_bits(values);
    const void* data = dtype == DType::F32 ? static_cast<const void*>(values.data()) : bits.data();
    const Tensor host = Tensor::view(data, dtype, {n});
    DeviceArray<float> dst(b, std::vector<float>(n, kNaN));
    b.load_as_f32(dst.data(), host);
    const std::vector<double> want = values_of(dtype, values, bits);
    expect_bits_equal(dst.read(), std::vector<float>(want.begin(), want.end()), "load_as_f32");
  }
  // From the backend's own memory (an f32 master; bf16 and f16 checkpoints of activations).
  DeviceArray<float> src(b, values), dst(b, std::vector<float>(n, kNaN));
  b.load_as_f32(dst.data(), src.tensor(DType::F32, {n}));
  expect_bits_equal(dst.read(), values, "load_as_f32 of backend memory");
  for (DType dtype : {DType::F16, DType::BF16}) {
    SCOPED_TRACE(std::string(dtype_name(dtype)) + " in backend memory");
    const std::vector<uint16_t> bits = dtype == DType::F16 ? to_f16_bits(values) : to_bf16_bits(values);
    DeviceArray<uint16_t> half(b, bits);
    DeviceArray<float> out(b, std::vector<float>(n, kNaN));
    b.load_as_f32(out.data(), half.tensor(dtype, {n}));
    const std::vector<double> want = values_of(dtype, values, bits);
    expect_bits_equal(out.read(), std::vector<float>(want.begin(), want.end()), "load_as_f32 of backend memory");
  }
}

TEST_P(BackendMemory, ResidentIsTheHostTensorOrADeviceCopy) {
  Backend& b = backend();
  std::mt19937 rng(5);
  const std::vector<float> values = nonzero_floats(11 * 5, rng);
  const std::vector<uint16_t> bits = to_bf16_bits(values);
  for (DType dtype : {DType::F32, DType::BF16}) {
    SCOPED_TRACE(dtype_name(dtype));
    const void* data = dtype == DType::F32 ? static_cast<const void*>(values.data()) : bits.data();
    const Tensor host = Tensor::view(data, dtype, {11, 5});
    OwnedTensor keep;
    const Tensor t = b.resident(host, keep);
    EXPECT_TRUE(t.same_shape(host));
    EXPECT_EQ(t.dtype, dtype);
    if (t.data == host.data) {
      EXPECT_TRUE(keep.empty());
      EXPECT_EQ(b.device(), Device::Host) << "a device backend returned a host pointer";
    } else {
      EXPECT_EQ(t.data, keep.data());
      EXPECT_EQ(t.device, b.device());
    }
    std::vector<uint8_t> back(host.nbytes());
    b.download(back.data(), t.data, back.size());
    EXPECT_EQ(std::memcmp(back.data(), data, back.size()), 0) << "resident's data differs from the host tensor";
  }
}

// A weight source: values, their bits in f16/bf16, and where it lives.
struct Source {
  DType dtype;
  std::vector<float> f32;
  std::vector<uint16_t> bits;
  const void* host_data() const { return dtype == DType::F32 ? static_cast<const void*>(f32.data()) : bits.data(); }
};

Source make_source(DType dtype, size_t n, std::mt19937& rng) {
  Source s{dtype, nonzero_floats(n, rng, 0.01f, 4.0f), {}};
  if (dtype == DType::F16) s.bits = to_f16_bits(s.f32);
  if (dtype == DType::BF16) s.bits = to_bf16_bits(s.f32);
  // Ties of the bf16 rounding (low half exactly 0x8000), with even and odd kept bits.
  if (dtype == DType::F32) {
    s.f32[0] = std::bit_cast<float>(0x3f808000u);
    s.f32[1] = std::bit_cast<float>(0xbf818000u);
  }
  return s;
}

// What the GEMMs at precision p must read: the source's values, rounded to bf16 at BF16.
std::vector<float> prepared_values(const Source& s, Precision p) {
  const std::vector<double> v = values_of(s.dtype, s.f32, s.bits);
  std::vector<float> want(v.size());
  for (size_t i = 0; i < v.size(); ++i)
    want[i] = p == Precision::BF16 ? static_cast<float>(bf16_round(static_cast<float>(v[i]))) : static_cast<float>(v[i]);
  return want;
}

// The prepared weight's values as the GEMMs read them, read back through the backend: a 16-bit view
// widened, and rounded to bf16 at BF16 (what the GEMMs do to an f16 weight they read in place).
std::vector<float> read_weight(Backend& b, const GemmWeight& w) {
  std::vector<float> out(static_cast<size_t>(w.view.numel()));
  if (w.view.dtype == DType::F32) {
    b.download(out.data(), w.view.data, out.size() * sizeof(float));
  } else {
    std::vector<uint16_t> bits(out.size());
    b.download(bits.data(), w.view.data, bits.size() * sizeof(uint16_t));
    for (size_t i = 0; i < bits.size(); ++i) {
      const double v = w.view.dtype == DType::F16 ? f16_value(bits[i]) : bf16_value(bits[i]);
      out[i] = static_cast<float>(w.precision == Precision::BF16 ? bf16_round(static_cast<float>(v)) : v);
    }
  }
  return out;
}

TEST_P(BackendMemory, PrepareWeightConvertsOrReadsInPlace) {
  Backend& b = backend();
  std::mt19937 rng(6);
  const int64_t N = 13, K = 27;
  for (Precision p : {Precision::F32, Precision::BF16})
    for (DType dtype : {DType::F32, DType::F16, DType::BF16})
      for (bool on_backend : {false, true}) {
        if (on_backend && dtype != DType::F32) continue;  // masters in backend memory are f32
        SCOPED_TRACE(std::string(precision_name(p)) + " from " + dtype_name(dtype) + (on_backend ? " on the backend" : " on the host"));
        const Source s = make_source(dtype, N * K, rng);
        DeviceArray<float> master(b, on_backend ? s.f32 : std::vector<float>(1));
        const Tensor source = on_backend ? master.tensor(DType::F32, {N, K}) : Tensor::view(s.host_data(), dtype, {N, K});
        GemmWeight w;
        b.prepare_weight(w, source, p);
        EXPECT_EQ(w.precision, p);
        ASSERT_EQ(w.rows(), N);
        ASSERT_EQ(w.cols(), K);
        const DType gemm_dtype = p == Precision::BF16 && b.native_bf16() ? DType::BF16 : DType::F32;
        // f32 GEMMs may read a 16-bit source in place, widening it as they go (GemmWeight).
        const bool streamed = !w.owns_copy() && gemm_dtype == DType::F32 && dtype != DType::F32;
        EXPECT_EQ(w.view.dtype, streamed ? dtype : gemm_dtype)
            << "GEMMs read f32, bf16 where the backend runs them natively, or a 16-bit source in place";
        if (w.owns_copy()) {
          EXPECT_EQ(w.view.data, w.copy.data());
          EXPECT_EQ(w.view.device, b.device());
        } else {  // read in place: a source in the GEMMs' form or a 16-bit one, in memory the backend reads
          EXPECT_EQ(w.view.data, source.data);
          EXPECT_EQ(source.device, b.device());
          EXPECT_TRUE(streamed || source.dtype == gemm_dtype);
          EXPECT_TRUE(p == Precision::F32 || source.dtype != DType::F32) << "an f32 source at BF16 needs rounding";
        }
        if (b.device() == Device::Host && dtype == DType::F32 && p == Precision::F32) {
          EXPECT_FALSE(w.owns_copy()) << "the CPU reads an f32 weight (a mapped checkpoint) in place";
        }
        expect_bits_equal(read_weight(b, w), prepared_values(s, p), "prepared weight");

        // Prepared again from new values of the same shape (a master after an optimizer step): the
        // copy is reused; then of another shape.
        const Source s2 = make_source(dtype, N * K, rng);
        if (on_backend) master.write(s2.f32);
        const Tensor source2 = on_backend ? source : Tensor::view(s2.host_data(), dtype, {N, K});
        const void* copy_before = w.copy.data();
        b.prepare_weight(w, source2, p);
        if (w.owns_copy() && copy_before) {
          EXPECT_EQ(w.copy.data(), copy_before) << "the copy was not reused";
        }
        expect_bits_equal(read_weight(b, w), prepared_values(s2, p), "prepared again");
        if (on_backend) continue;
        const Source s3 = make_source(dtype, (N + 2) * K, rng);
        b.prepare_weight(w, Tensor::view(s3.host_data(), dtype, {N + 2, K}), p);
        EXPECT_EQ(w.rows(), N + 2);
        expect_bits_equal(read_weight(b, w), prepared_values(s3, p), "prepared at a new shape");
      }
}

}  // namespace
}  // namespace ll::backend_test
