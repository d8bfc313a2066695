// The backend op harness (ggml's test-backend-ops, for longlora): what every test in tests/backend shares.
//
// Every test is parametrized over available_backends(), so a backend that registers itself gets the
// whole suite. Data moves in and out of a backend only through its upload and download (DeviceArray),
// so device memory works. References are written in double in the tests, and every comparison states
// its bound: the f32 (or bf16) rounding error the op is allowed, derived from the operation count
// (γ_n below), never a loose constant. Backward ops are checked against the reference backward AND
// against central differences of the reference forward (expect_gradient).
//
// One process runs one CPU instruction-set path (core/cpu_isa.h: LONGLORA_CPU_ISA, set once per CTest
// registration in tests/CMakeLists.txt); when this CPU lacks the path, every test skips with a message
// naming it. Each test prints which path and backend it ran.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "backend/backend.h"

namespace ll::backend_test {

constexpr double kU = 0x1p-24;     // unit roundoff of f32 (round to nearest): |fl(x) − x| ≤ u·|x|
constexpr double kUBf16 = 0x1p-8;  // of bf16 (8 significant bits)
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// γ_n = n·u / (1 − n·u): |fl(Σ_k a_k·b_k) − Σ_k a_k·b_k| ≤ γ_n · Σ_k |a_k·b_k| for a sum of n products
// in f32, in any order and with or without fused multiply-adds (Higham, Accuracy and Stability of
// Numerical Algorithms, §3.1). The bound of every GEMM-like check below.
inline double gamma_f32(int64_t n) { return static_cast<double>(n) * kU / (1 - static_cast<double>(n) * kU); }

// ---- the fixture ----

// A test of one backend (GetParam()). SetUp skips when the CPU path LONGLORA_CPU_ISA asks for is not
// on this machine, and prints the backend and the path otherwise.
class BackendTest : public testing::TestWithParam<Backend*> {
 protected:
  void SetUp() override;
  Backend& backend() const { return *GetParam(); }
};

// The CPU path's check alone, for the tests of one backend kind (measuring_test.cpp).
class CpuPathTest : public testing::Test {
 protected:
  void SetUp() override;
};

// "host", "cuda": the device of the backend (stable between test discovery and the runs of each path).
std::string backend_param_name(const testing::TestParamInfo<Backend*>& info);

}  // namespace ll::backend_test

namespace ll {
// How GoogleTest prints a test's parameter (CTest's test names carry it): the device, as above.
inline void PrintTo(Backend* backend, std::ostream* os) { *os << device_name(backend->device()); }
}  // namespace ll

namespace ll::backend_test {

#define INSTANTIATE_BACKEND_SUITE(suite) \
  INSTANTIATE_TEST_SUITE_P(AllBackends, suite, testing::ValuesIn(::ll::available_backends()), \
                           ::ll::backend_test::backend_param_name)

// ---- data in the backend's memory ----

// n elements of T in a backend's memory (allocate/deallocate), written and read only through its
// upload and download. Move-only.
template <class T>
class DeviceArray {
 public:
  DeviceArray(Backend& backend, const std::vector<T>& host) : backend_(&backend), size_(host.size()) {
    data_ = static_cast<T*>(backend.allocate(bytes()));
    write(host);
  }
  ~DeviceArray() {
    if (data_) backend_->deallocate(data_, bytes());
  }
  DeviceArray(DeviceArray&& o) noexcept : backend_(o.backend_), data_(o.data_), size_(o.size_) { o.data_ = nullptr; }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  DeviceArray& operator=(DeviceArray&&) = delete;

  T* data() const { return data_; }
  size_t size() const { return size_; }
  size_t bytes() const { return size_ * sizeof(T); }
  void write(const std::vector<T>& host) {
    EXPECT_EQ(host.size(), size_);
    backend_->upload(data_, host.data(), bytes());
  }
  std::vector<T> read() const {
    std::vector<T> host(size_);
    backend_->download(host.data(), data_, bytes());
    return host;
  }
  // A contiguous Tensor view of the data (dtype: F32 / I32, or F16 / BF16 for uint16_t bits).
  Tensor tensor(DType dtype, std::initializer_list<int64_t> shape) const {
    Tensor t = Tensor::view(static_cast<const void*>(data_), dtype, shape);
    t.device = backend_->device();
    return t;
  }

 private:
  Backend* backend_;
  T* data_ = nullptr;
  size_t size_;
};

// ---- random data: odd sizes, never zeros ----

// n values with |x| in [lo, hi) and random signs: never zero, so that a dropped element, an unwritten
// output or a wrong index cannot hide behind a zero.
std::vector<float> nonzero_floats(size_t n, std::mt19937& rng, float lo = 0.1f, float hi = 1.0f);
std::vector<double> widen(const std::vector<float>& x);
// Bits of x in f16 or bf16 (inputs for tables and weights stored in those dtypes).
std::vector<uint16_t> to_f16_bits(const std::vector<float>& x);
std::vector<uint16_t> to_bf16_bits(const std::vector<float>& x);

// ---- host matrices with row strides ----

constexpr float kSentinel = 777.0f;  // fills padding an op must not write

// A host matrix [rows, cols] with row stride ld (≥ cols), as the ops' ld* parameters describe them.
struct Strided {
  int64_t rows, cols, ld;
  std::vector<float> data;  // rows·ld
  float at(int64_t r, int64_t c) const { return data[r * ld + c]; }
};

// Random non-zero values, `pad` between rows: NaN for an input (poisons a result that reads it),
// kSentinel for an output.
Strided random_strided(int64_t rows, int64_t cols, int64_t ld, std::mt19937& rng, float pad);
// An output: random values when the op accumulates into it, NaN when it writes (the op must overwrite
// them), kSentinel in the padding.
Strided output_buffer(int64_t rows, int64_t cols, int64_t ld, bool accumulate, std::mt19937& rng);
// The [rows, cols] values without padding, and the same taken from a full buffer of m's layout.
std::vector<double> dense_of(const Strided& m);
std::vector<float> valid_part(const std::vector<float>& full, const Strided& m);

// ---- reference conversions, written independently of core/half.h ----

double f16_value(uint16_t bits);   // exact value of an IEEE binary16 (subnormals, ±Inf, NaN)
double bf16_value(uint16_t bits);  // exact value of a bfloat16
// The bf16 nearest to x, ties to even, overflow to ±Inf, NaN → a NaN; found by comparing distances to
// the two neighbours in double (not by the rounding-bias trick of core/half.h).
uint16_t bf16_nearest_even(float x);
// x rounded to bf16 and widened: what a GEMM input holds at Precision::BF16.
inline double bf16_round(float x) { return bf16_value(bf16_nearest_even(x)); }
// What a GEMM input holds at precision p.
inline double gemm_input(float x, Precision p) { return p == Precision::BF16 ? bf16_round(x) : x; }
// Values of a host tensor of dtype F32 / F16 / BF16 as the reference reads them.
std::vector<double> values_of(DType dtype, const std::vector<float>& f32, const std::vector<uint16_t>& bits);

// ---- comparisons ----

// Every |got[i] − want[i]| ≤ bound[i]; a NaN or infinity in got where want is finite fails. Reports how
// many elements broke their bound and the worst one relative to its bound.
void expect_within(const std::vector<float>& got, const std::vector<double>& want, const std::vector<double>& bound,
                   const std::string& what);
// bound[i] = rtol·|want[i]|.
std::vector<double> relative_bound(const std::vector<double>& want, double rtol);
// Elements equal bit for bit (floats: NaN payloads included).
void expect_bits_equal(const std::vector<float>& got, const std::vector<float>& want, const std::string& what);

// ---- gradient checks ----

// Central differences in double of loss(x) with respect to x[i], for i in `which` (every index when
// empty); other entries are NaN. Step h = 1e-5·max(1, |x_i|): for the smooth references here the
// truncation error (h²·f'''/6) and the cancellation error (2^-53·|loss|/h) both stay below 1e-9·max|∇|.
template <class Loss>
std::vector<double> central_differences(std::vector<double> x, const Loss& loss, const std::vector<size_t>& which = {}) {
  std::vector<double> grad(x.size(), std::numeric_limits<double>::quiet_NaN());
  auto one = [&](size_t i) {
    const double saved = x[i], h = 1e-5 * std::max(1.0, std::fabs(saved));
    x[i] = saved + h;
    const double plus = loss(x);
    x[i] = saved - h;
    const double minus = loss(x);
    x[i] = saved;
    grad[i] = (plus - minus) / (2 * h);
  };
  if (which.empty())
    for (size_t i = 0; i < x.size(); ++i) one(i);
  else
    for (size_t i : which) one(i);
  return grad;
}

// `count` distinct indices of [0, n) (all when n ≤ count): where a costly finite-difference check looks.
std::vector<size_t> sample_indices(size_t n, size_t count, std::mt19937& rng);

// How far central differences may be from an exact gradient, relative to max|gradient|.
constexpr double kFdTolerance = 1e-7;

// A backward op against both references. `ref`: the reference backward (double); `fd`: central
// differences of the reference forward (NaN where not computed). First |ref − fd| ≤ kFdTolerance·max|fd|
// (the reference backward is right), then the backend's `got`, which holds base + gradient (base: the
// accumulator's value before the op, empty for an op that writes), within `bound` of base + ref and
// within bound + 2·kFdTolerance·max|fd| of base + fd.
void expect_gradient(const std::vector<float>& got, const std::vector<double>& base, const std::vector<double>& ref,
                     const std::vector<double>& fd, const std::vector<double>& bound, const std::string& what);

}  // namespace ll::backend_test
