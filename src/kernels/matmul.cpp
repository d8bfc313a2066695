#include "kernels/matmul.h"

#include <dnnl.hpp>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include "core/half.h"
#include "core/threads.h"

namespace ll {

namespace {

using dt = dnnl::memory::data_type;

dnnl::engine& cpu_engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

// One primitive per (shapes, strides, dtypes, accumulate, threads): oneDNN JIT-compiles each, and a
// primitive runs with the thread count it was created with.
struct GemmKey {
  int64_t M, N, K;
  int64_t a_rs, a_cs, b_rs, b_cs, c_rs, c_cs;  // row/column strides of A[M,K], B[K,N], C[M,N]
  dt type;                                     // dtype of A and B
  bool accumulate;
  int threads;
  bool operator<(const GemmKey& o) const {
    return std::tie(M, N, K, a_rs, a_cs, b_rs, b_cs, c_rs, c_cs, type, accumulate, threads) <
           std::tie(o.M, o.N, o.K, o.a_rs, o.a_cs, o.b_rs, o.b_cs, o.c_rs, o.c_cs, o.type, o.accumulate, o.threads);
  }
};

struct GemmPrimitive {
  dnnl::matmul prim;
  dnnl::memory::desc a, b, c;
};

const GemmPrimitive& gemm_primitive(const GemmKey& key) {
  static std::mutex mu;
  static std::map<GemmKey, GemmPrimitive> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  GemmPrimitive g;
  g.a = dnnl::memory::desc({key.M, key.K}, key.type, {key.a_rs, key.a_cs});
  g.b = dnnl::memory::desc({key.K, key.N}, key.type, {key.b_rs, key.b_cs});
  g.c = dnnl::memory::desc({key.M, key.N}, dt::f32, {key.c_rs, key.c_cs});
  dnnl::primitive_attr attr;
  if (key.accumulate) {
    dnnl::post_ops ops;
    ops.append_sum(1.0f);
    attr.set_post_ops(ops);
  }
  auto pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(g.a, g.b, g.c), attr, cpu_engine());
  g.prim = dnnl::matmul(pd);
  return cache.emplace(key, std::move(g)).first->second;
}

// Products below this many flops run on the calling thread alone: waking the other threads for a
// parallel region costs ~15 µs here (far more when the machine is busy), more than they save on
// the per-token products of decoding and the GEMMs of tiny models.
constexpr double kSerialGemmFlops = 4e6;

// Sets this thread's OpenMP thread count for one scope (oneDNN reads it when it creates and runs
// a primitive).
class ThreadCountScope {
 public:
  explicit ThreadCountScope(int threads) : saved_(omp_get_max_threads()) {
    if (threads != saved_) omp_set_num_threads(threads);
  }
  ~ThreadCountScope() {
    if (omp_get_max_threads() != saved_) omp_set_num_threads(saved_);
  }
  ThreadCountScope(const ThreadCountScope&) = delete;
  ThreadCountScope& operator=(const ThreadCountScope&) = delete;

 private:
  int saved_;
};

// C[M,N] (+)= A[M,K]·B[K,N]; A, B and C given by pointer and (row, column) strides in elements.
void run_gemm(float* c, int64_t c_rs, int64_t c_cs, const void* a, int64_t a_rs, int64_t a_cs, const void* b,
              int64_t b_rs, int64_t b_cs, int64_t M, int64_t N, int64_t K, dt type, bool accumulate) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    if (!accumulate)
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) c[i * c_rs + j * c_cs] = 0.0f;
    return;
  }
  const int threads = 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K) < kSerialGemmFlops
                          ? 1 : omp_get_max_threads();
  const ThreadCountScope thread_count(threads);
  const GemmPrimitive& g = gemm_primitive({M, N, K, a_rs, a_cs, b_rs, b_cs, c_rs, c_cs, type, accumulate, threads});
  dnnl::engine& eng = cpu_engine();
  dnnl::memory am(g.a, eng, const_cast<void*>(a)), bm(g.b, eng, const_cast<void*>(b)), cm(g.c, eng, c);
  thread_local dnnl::stream s(eng);
  g.prim.execute(s, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
  s.wait();
}

// An f32 activation matrix [rows, cols] (row stride ld) made ready for a GEMM at precision p:
// the pointer, dtype and row stride to use. F32: as is. BF16: a packed bf16 copy (native) or a
// bf16-rounded f32 copy (emulated) in `scratch`, which the caller releases after the GEMM.
struct Operand {
  const void* data;
  int64_t ld;
  dt type;
};

// Conversions big enough to be worth waking the other threads for (elements).
constexpr int64_t kParallelConversion = 1 << 16;

// Bytes of one converted operand [rows, cols].
size_t operand_bytes(int64_t rows, int64_t cols, Precision p) {
  if (p == Precision::F32) return 0;
  return static_cast<size_t>(rows * cols) * (native_bf16_gemm() ? sizeof(uint16_t) : sizeof(float));
}

Operand prepare_activation(const float* x, int64_t ld, int64_t rows, int64_t cols, Precision p, Arena& scratch) {
  if (p == Precision::F32) return {x, ld, dt::f32};
  if (native_bf16_gemm()) {
    uint16_t* buf = static_cast<uint16_t*>(scratch.alloc_bytes(operand_bytes(rows, cols, p)));
#pragma omp parallel for schedule(static) if (rows * cols >= parallel_grain(kParallelConversion))
    for (int64_t i = 0; i < rows; ++i) f32_to_bf16(buf + i * cols, x + i * ld, cols);
    return {buf, cols, dt::bf16};
  }
  float* buf = static_cast<float*>(scratch.alloc_bytes(operand_bytes(rows, cols, p)));
#pragma omp parallel for schedule(static) if (rows * cols >= parallel_grain(kParallelConversion))
  for (int64_t i = 0; i < rows; ++i) round_to_bf16(buf + i * cols, x + i * ld, cols);
  return {buf, cols, dt::f32};
}

// dst[n] = src[n] converted by `convert` (one of half.h's bulk converters), in parallel pieces.
template <class Dst, class Src>
void convert_parallel(Dst* dst, const Src* src, int64_t n, void (*convert)(Dst*, const Src*, int64_t)) {
  const int64_t piece = parallel_grain(kParallelConversion), pieces = (n + piece - 1) / piece;
#pragma omp parallel for schedule(static) if (pieces > 1)
  for (int64_t i = 0; i < pieces; ++i) {
    const int64_t begin = i * piece;
    convert(dst + begin, src + begin, std::min(piece, n - begin));
  }
}

dt weight_type(const Tensor& w) { return w.dtype == DType::BF16 ? dt::bf16 : dt::f32; }

// A 16-bit weight (f16/bf16, e.g. a mapped checkpoint's) that the f32 GEMMs read in place: widened
// (and at BF16 rounded to bf16) into an f32 panel of kPanelBytes in scratch, panel by panel, at every
// product. So a 16-bit checkpoint is never copied whole: LLaMA-2-7B stays 12.6 GiB mapped instead of
// also taking 25 GiB of f32 copies. The widening costs N·K element conversions per product, small
// against its 2·M·N·K flops except when decoding (M = 1), which reads half the bytes an f32 copy would.
constexpr int64_t kPanelBytes = int64_t{4} << 20;

bool streamed(const Tensor& w, Precision p) {
  return (w.dtype == DType::F16 || w.dtype == DType::BF16) && gemm_weight_dtype(p) == DType::F32;
}

// Rows of W [N, K] per panel.
int64_t panel_rows(int64_t N, int64_t K) {
  return std::clamp<int64_t>(kPanelBytes / std::max<int64_t>(K * static_cast<int64_t>(sizeof(float)), 1), 1,
                             std::max<int64_t>(N, 1));
}

size_t panel_scratch_bytes(const Tensor& w, Precision p) {
  if (!streamed(w, p)) return 0;
  return aligned_size(static_cast<size_t>(panel_rows(w.shape[0], w.shape[1]) * w.shape[1]) * sizeof(float));
}

// dst [rows, K] f32 ← rows [n0, n0 + rows) of a streamed weight, as the GEMMs at p read them.
void widen_panel(float* dst, const Tensor& w, int64_t n0, int64_t rows, Precision p) {
  const int64_t K = w.shape[1], n = rows * K;
  const uint16_t* src = static_cast<const uint16_t*>(w.data) + n0 * K;
  using Widen = void (*)(float*, const uint16_t*, int64_t);
  using Round = void (*)(float*, const float*, int64_t);
  convert_parallel(dst, src, n, w.dtype == DType::BF16 ? static_cast<Widen>(bf16_to_f32) : static_cast<Widen>(f16_to_f32));
  if (p == Precision::BF16 && w.dtype == DType::F16) convert_parallel(dst, dst, n, static_cast<Round>(round_to_bf16));
}

void check_weight(const Tensor& w, Precision p) {
  LL_CHECK(w.ndim == 2 && w.is_contiguous() && (w.dtype == gemm_weight_dtype(p) || streamed(w, p)));
}

// y[M, N] (+)= a[M, K]·Wᵀ for W [N, K] at `w` (dtype `type`) with row stride K.
void forward_gemm(float* y, int64_t ldy, const Operand& a, int64_t M, const void* w, int64_t N, int64_t K, dt type,
                  bool accumulate) {
  if (M == 1) {
    // A single row (decoding): yᵀ[N, 1] = W[N, K]·xᵀ[K, 1], which oneDNN runs as a matrix-vector
    // product streaming W row by row, ~1.5× the rate of the form below. (oneDNN's JIT GEMM takes no
    // output with a column stride other than 1, so this is for one row only.)
    run_gemm(y, 1, 1, w, K, 1, a.data, 1, 1, N, 1, K, type, accumulate);
    return;
  }
  // B[K, N] = Wᵀ: element (k, n) at n*K + k.
  run_gemm(y, ldy, 1, a.data, a.ld, 1, w, 1, K, M, N, K, type, accumulate);
}

}  // namespace

bool native_bf16_gemm() {
  static const bool native = [] {
    try {
      dnnl::memory::desc a({64, 64}, dt::bf16, dnnl::memory::format_tag::ab);
      dnnl::memory::desc c({64, 64}, dt::f32, dnnl::memory::format_tag::ab);
      auto pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(a, a, c), cpu_engine());
      // Reference implementations exist everywhere but are far slower than f32 JIT GEMM.
      return std::string(pd.impl_info_str()).find("ref") == std::string::npos;
    } catch (const dnnl::error&) {
      return false;
    }
  }();
  return native;
}

DType gemm_weight_dtype(Precision p) {
  return p == Precision::BF16 && native_bf16_gemm() ? DType::BF16 : DType::F32;
}

bool gemm_reads_in_place(const Tensor& src, Precision p) {
  // At emulated BF16 an f32 source still needs rounding (a copy); 16-bit sources the f32 GEMMs read
  // are widened panel by panel (streamed).
  return streamed(src, p) || (src.dtype == gemm_weight_dtype(p) && !(p == Precision::BF16 && src.dtype == DType::F32));
}

// Each converts the operands it reads below through prepare_activation, which takes
// operand_bytes (rounded up to the arena's alignment) per operand, and a streamed weight's panel.
size_t linear_forward_scratch_bytes(int64_t M, const Tensor& w, Precision p) {
  return aligned_size(operand_bytes(M, w.shape[1], p)) + panel_scratch_bytes(w, p);
}
size_t linear_backward_input_scratch_bytes(int64_t M, const Tensor& w, Precision p) {
  return aligned_size(operand_bytes(M, w.shape[0], p)) + panel_scratch_bytes(w, p);
}
size_t linear_backward_weight_scratch_bytes(int64_t M, int64_t N, int64_t K, Precision p) {
  return aligned_size(operand_bytes(M, N, p)) + aligned_size(operand_bytes(M, K, p));
}

void convert_gemm_weight(Tensor dst, const Tensor& src, Precision p) {
  LL_CHECK(src.ndim == 2 && src.is_contiguous() && dst.same_shape(src) && dst.dtype == gemm_weight_dtype(p));
  const int64_t n = src.numel();
  // Trainable weights come through here after every optimizer step: the conversions run in parallel.
  using ToBf16 = void (*)(uint16_t*, const float*, int64_t);
  using Round = void (*)(float*, const float*, int64_t);
  if (dst.dtype == DType::BF16) {
    if (src.dtype == DType::F32) {
      convert_parallel(dst.as<uint16_t>(), static_cast<const float*>(src.data), n, static_cast<ToBf16>(f32_to_bf16));
    } else {  // f16 -> f32 -> bf16
      std::vector<float> tmp(static_cast<size_t>(n));
      to_f32(tmp.data(), src.data, src.dtype, n);
      convert_parallel(dst.as<uint16_t>(), tmp.data(), n, static_cast<ToBf16>(f32_to_bf16));
    }
  } else if (src.dtype == DType::F32) {
    if (p == Precision::BF16)
      convert_parallel(dst.as<float>(), static_cast<const float*>(src.data), n, static_cast<Round>(round_to_bf16));
    else
      std::memcpy(dst.data, src.data, src.nbytes());
  } else {
    to_f32(dst.as<float>(), src.data, src.dtype, n);
    if (p == Precision::BF16) convert_parallel(dst.as<float>(), dst.as<float>(), n, static_cast<Round>(round_to_bf16));
  }
}

void linear_forward(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t M, const Tensor& w, Precision p,
                    bool accumulate, Arena& scratch) {
  check_weight(w, p);
  ArenaScope scope(scratch);
  const int64_t N = w.shape[0], K = w.shape[1];
  const Operand a = prepare_activation(x, ldx, M, K, p, scratch);
  if (!streamed(w, p)) return forward_gemm(y, ldy, a, M, w.data, N, K, weight_type(w), accumulate);
  // y[:, n0 : n0 + rows] (+)= x · W[n0 : n0 + rows]ᵀ, panel by panel.
  const int64_t rows = panel_rows(N, K);
  float* panel = scratch.alloc<float>(rows * K);
  for (int64_t n0 = 0; n0 < N; n0 += rows) {
    const int64_t n = std::min(rows, N - n0);
    widen_panel(panel, w, n0, n, p);
    forward_gemm(y + n0, ldy, a, M, panel, n, K, dt::f32, accumulate);
  }
}

void linear_backward_input(float* dx, int64_t lddx, const float* dy, int64_t lddy, int64_t M, const Tensor& w,
                           Precision p, bool accumulate, Arena& scratch) {
  check_weight(w, p);
  ArenaScope scope(scratch);
  const int64_t N = w.shape[0], K = w.shape[1];
  const Operand a = prepare_activation(dy, lddy, M, N, p, scratch);
  // B[N, K] = W as stored.
  if (!streamed(w, p)) return run_gemm(dx, lddx, 1, a.data, a.ld, 1, w.data, K, 1, M, K, N, weight_type(w), accumulate);
  // dx (+)= Σ over panels dy[:, n0 : n0 + rows] · W[n0 : n0 + rows] (a is f32: the GEMMs are).
  const int64_t rows = panel_rows(N, K);
  float* panel = scratch.alloc<float>(rows * K);
  for (int64_t n0 = 0; n0 < N; n0 += rows) {
    const int64_t n = std::min(rows, N - n0);
    widen_panel(panel, w, n0, n, p);
    run_gemm(dx, lddx, 1, static_cast<const float*>(a.data) + n0, a.ld, 1, panel, K, 1, M, K, n, dt::f32,
             accumulate || n0 > 0);
  }
}

void linear_backward_weight(float* dw, const float* dy, int64_t lddy, const float* x, int64_t ldx, int64_t M,
                            int64_t N, int64_t K, Precision p, bool accumulate, Arena& scratch) {
  ArenaScope scope(scratch);
  const Operand a = prepare_activation(dy, lddy, M, N, p, scratch);  // dy [M, N]: used as A = dyᵀ [N, M]
  const Operand b = prepare_activation(x, ldx, M, K, p, scratch);    // x [M, K]
  LL_CHECK(a.type == b.type);
  run_gemm(dw, K, 1, a.data, 1, a.ld, b.data, b.ld, 1, N, K, M, a.type, accumulate);
}

}  // namespace ll
