#include "backend/harness.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <numeric>

#include "core/cpu_isa.h"
#include "core/half.h"

namespace ll::backend_test {

namespace {

// Why this process cannot run the CPU path LONGLORA_CPU_ISA names (empty when it can, or when the
// variable is unset and the process runs its best path).
std::string missing_cpu_path() {
  const char* env = std::getenv("LONGLORA_CPU_ISA");
  if (!env || !*env) return "";
  for (CpuIsa isa : {CpuIsa::Portable, CpuIsa::Avx2, CpuIsa::Avx512})
    if (std::string(env) == cpu_isa_name(isa))
      return cpu_isa_available(isa) ? "" : std::string("CPU path ") + env + " is not available on this machine";
  return std::string("LONGLORA_CPU_ISA=") + env + " names no CPU path (portable, avx2, avx512)";
}

bool path_skipped() {
  const std::string why = missing_cpu_path();
  if (why.empty()) return false;
  std::printf("[ skipped  ] %s: skipping the backend harness on it\n", why.c_str());
  return true;
}

}  // namespace

void BackendTest::SetUp() {
  if (path_skipped()) GTEST_SKIP() << missing_cpu_path();
  std::printf("[ backend  ] %s on CPU path %s\n", backend().name().c_str(), cpu_isa_name(cpu_isa()));
  RecordProperty("backend", backend().name());
  RecordProperty("cpu_path", cpu_isa_name(cpu_isa()));
}

void CpuPathTest::SetUp() {
  if (path_skipped()) GTEST_SKIP() << missing_cpu_path();
  std::printf("[ backend  ] measuring cpu backend on CPU path %s\n", cpu_isa_name(cpu_isa()));
  RecordProperty("cpu_path", cpu_isa_name(cpu_isa()));
}

std::string backend_param_name(const testing::TestParamInfo<Backend*>& info) {
  return std::string(device_name(info.param->device())) + (info.index ? std::to_string(info.index) : "");
}

std::vector<float> nonzero_floats(size_t n, std::mt19937& rng, float lo, float hi) {
  std::uniform_real_distribution<float> magnitude(lo, hi);
  std::bernoulli_distribution negative(0.5);
  std::vector<float> x(n);
  for (float& e : x) e = negative(rng) ? -magnitude(rng) : magnitude(rng);
  return x;
}

std::vector<double> widen(const std::vector<float>& x) { return {x.begin(), x.end()}; }

std::vector<uint16_t> to_f16_bits(const std::vector<float>& x) {
  std::vector<uint16_t> bits(x.size());
  for (size_t i = 0; i < x.size(); ++i) bits[i] = f32_to_f16(x[i]);
  return bits;
}

std::vector<uint16_t> to_bf16_bits(const std::vector<float>& x) {
  std::vector<uint16_t> bits(x.size());
  for (size_t i = 0; i < x.size(); ++i) bits[i] = bf16_nearest_even(x[i]);
  return bits;
}

Strided random_strided(int64_t rows, int64_t cols, int64_t ld, std::mt19937& rng, float pad) {
  Strided m{rows, cols, ld, std::vector<float>(rows * ld, pad)};
  const std::vector<float> v = nonzero_floats(rows * cols, rng);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) m.data[r * ld + c] = v[r * cols + c];
  return m;
}

Strided output_buffer(int64_t rows, int64_t cols, int64_t ld, bool accumulate, std::mt19937& rng) {
  Strided m = random_strided(rows, cols, ld, rng, kSentinel);
  if (!accumulate)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) m.data[r * ld + c] = kNaN;
  return m;
}

std::vector<double> dense_of(const Strided& m) {
  std::vector<double> d(m.rows * m.cols);
  for (int64_t r = 0; r < m.rows; ++r)
    for (int64_t c = 0; c < m.cols; ++c) d[r * m.cols + c] = m.at(r, c);
  return d;
}

std::vector<float> valid_part(const std::vector<float>& full, const Strided& m) {
  std::vector<float> v(m.rows * m.cols);
  for (int64_t r = 0; r < m.rows; ++r)
    for (int64_t c = 0; c < m.cols; ++c) v[r * m.cols + c] = full[r * m.ld + c];
  return v;
}

double f16_value(uint16_t bits) {
  const double sign = bits & 0x8000 ? -1.0 : 1.0;
  const int exponent = (bits >> 10) & 0x1f, mantissa = bits & 0x3ff;
  if (exponent == 0x1f) return mantissa ? std::numeric_limits<double>::quiet_NaN() : sign * HUGE_VAL;
  if (exponent == 0) return sign * std::ldexp(mantissa, -24);  // subnormal: mantissa · 2^−24
  return sign * std::ldexp(1024 + mantissa, exponent - 25);
}

double bf16_value(uint16_t bits) { return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16); }

uint16_t bf16_nearest_even(float x) {
  if (std::isnan(x)) return 0x7fc0;
  const uint32_t bits = std::bit_cast<uint32_t>(x);
  if (std::isinf(x) || (bits & 0xffff) == 0) return static_cast<uint16_t>(bits >> 16);
  // The two bf16 values around x: toward zero (its top 16 bits) and the next one away from zero,
  // which past the largest finite bf16 is infinity, reached at 2^128 for the comparison.
  const uint16_t toward = static_cast<uint16_t>(bits >> 16), away = static_cast<uint16_t>(toward + 1);
  const double magnitude = std::fabs(static_cast<double>(x));
  const double low = std::fabs(bf16_value(toward));
  const double high = (away & 0x7fff) == 0x7f80 ? std::ldexp(1.0, 128) : std::fabs(bf16_value(away));
  const double below = magnitude - low, above = high - magnitude;
  if (below < above) return toward;
  if (above < below) return away;
  return (toward & 1) ? away : toward;  // a tie: the even one
}

std::vector<double> values_of(DType dtype, const std::vector<float>& f32, const std::vector<uint16_t>& bits) {
  if (dtype == DType::F32) return widen(f32);
  std::vector<double> v(bits.size());
  for (size_t i = 0; i < bits.size(); ++i) v[i] = dtype == DType::F16 ? f16_value(bits[i]) : bf16_value(bits[i]);
  return v;
}

void expect_within(const std::vector<float>& got, const std::vector<double>& want, const std::vector<double>& bound,
                   const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  ASSERT_EQ(bound.size(), want.size()) << what;
  size_t broken = 0, worst = 0;
  double worst_ratio = -1;
  for (size_t i = 0; i < want.size(); ++i) {
    const double err = std::fabs(static_cast<double>(got[i]) - want[i]);
    // NaN compares false everywhere: count it explicitly, as the worst possible element.
    const double ratio = std::isnan(err) ? HUGE_VAL : err / std::max(bound[i], 1e-300);
    if (!(err <= bound[i])) ++broken;
    if (ratio > worst_ratio) worst_ratio = ratio, worst = i;
  }
  EXPECT_EQ(broken, 0u) << what << ": " << broken << " of " << want.size() << " elements outside their bound; worst "
                        << worst << " is " << got[worst] << ", expected " << want[worst] << " ± " << bound[worst]
                        << " (error " << worst_ratio << "× the bound)";
}

std::vector<double> relative_bound(const std::vector<double>& want, double rtol) {
  std::vector<double> b(want.size());
  for (size_t i = 0; i < want.size(); ++i) b[i] = rtol * std::fabs(want[i]);
  return b;
}

void expect_bits_equal(const std::vector<float>& got, const std::vector<float>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  size_t differ = 0, first = 0;
  for (size_t i = 0; i < got.size(); ++i)
    if (std::bit_cast<uint32_t>(got[i]) != std::bit_cast<uint32_t>(want[i]) && differ++ == 0) first = i;
  EXPECT_EQ(differ, 0u) << what << ": " << differ << " elements differ; first " << first << " is " << got[first]
                        << ", expected " << want[first];
}

std::vector<size_t> sample_indices(size_t n, size_t count, std::mt19937& rng) {
  std::vector<size_t> all(n);
  std::iota(all.begin(), all.end(), size_t{0});
  if (n <= count) return all;
  std::shuffle(all.begin(), all.end(), rng);
  all.resize(count);
  std::sort(all.begin(), all.end());
  return all;
}

void expect_gradient(const std::vector<float>& got, const std::vector<double>& base, const std::vector<double>& ref,
                     const std::vector<double>& fd, const std::vector<double>& bound, const std::string& what) {
  ASSERT_EQ(ref.size(), fd.size()) << what;
  double scale = 0;
  for (double g : fd)
    if (!std::isnan(g)) scale = std::max(scale, std::fabs(g));
  ASSERT_GT(scale, 0) << what << ": no finite difference to compare with";
  std::vector<double> ref_at, fd_at, ref_want, fd_want, fd_bound;
  std::vector<float> got_at;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double b = base.empty() ? 0.0 : base[i];
    ref_want.push_back(b + ref[i]);
    if (std::isnan(fd[i])) continue;
    ref_at.push_back(ref[i]);
    fd_at.push_back(fd[i]);
    got_at.push_back(got[i]);
    fd_want.push_back(b + fd[i]);
    fd_bound.push_back(bound[i] + 2 * kFdTolerance * scale);
  }
  // The reference backward against the differences of the reference forward (both double).
  double worst = 0;
  for (size_t i = 0; i < ref_at.size(); ++i) worst = std::max(worst, std::fabs(ref_at[i] - fd_at[i]));
  EXPECT_LE(worst, kFdTolerance * scale) << what << ": the reference backward disagrees with finite differences";
  expect_within(got, ref_want, bound, what + " vs the reference backward");
  expect_within(got_at, fd_want, fd_bound, what + " vs finite differences of the reference forward");
}

}  // namespace ll::backend_test
