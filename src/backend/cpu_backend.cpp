#include "backend/cpu_backend.h"

#include <algorithm>
#include <cstring>

#include "core/half.h"
#include "core/threads.h"
#include "kernels/adamw.h"
#include "kernels/bias.h"
#include "kernels/cross_entropy.h"
#include "kernels/embedding.h"
#include "kernels/matmul.h"
#include "kernels/reduce.h"
#include "kernels/rmsnorm.h"
#include "kernels/swiglu.h"

namespace ll {

namespace {

// What a measuring op takes from `scratch` in place of the real op: `bytes`, given back before it
// returns. Nothing for 0 bytes: the real op asks for nothing then, and the Arena would round a
// 0-byte request up to its 64-byte minimum.
void take_scratch(Arena& scratch, size_t bytes) {
  if (bytes == 0) return;
  ArenaScope scope(scratch);
  scratch.alloc_bytes(bytes);
}

}  // namespace

CpuBackend::CpuBackend(bool measuring, int threads) : Backend(measuring), threads_(threads) {}

std::string CpuBackend::name() const {
  return std::string("cpu (") + cpu_isa_name(cpu_isa()) + (measuring() ? ", measuring)" : ")");
}

std::string CpuBackend::gemm_engine() const {
  return std::string("oneDNN, bf16 ") + (native_bf16() ? "native" : "emulated in f32") + " on this CPU";
}

bool CpuBackend::native_bf16() const { return native_bf16_gemm(); }

// ---- memory ----

void* CpuBackend::allocate(size_t bytes) {
  return measuring() ? measure_.allocate(bytes) : host_memory().allocate(bytes);
}

void CpuBackend::deallocate(void* p, size_t bytes) {
  if (measuring())
    measure_.deallocate(p, bytes);
  else
    host_memory().deallocate(p, bytes);
}

void CpuBackend::fill_zero(void* p, size_t bytes) {
  if (!measuring()) std::memset(p, 0, bytes);
}

void CpuBackend::upload(void* dst, const void* host_src, size_t bytes) {
  if (!measuring()) std::memcpy(dst, host_src, bytes);
}

void CpuBackend::download(void* host_dst, const void* src, size_t bytes) {
  if (!measuring()) std::memcpy(host_dst, src, bytes);
}

void CpuBackend::copy(void* dst, const void* src, size_t bytes) {
  if (!measuring() && dst != src) std::memcpy(dst, src, bytes);
}

void CpuBackend::copy_rows(float* dst, int64_t ldd, const float* src, int64_t lds, int64_t rows, int64_t cols) {
  if (measuring()) return;
  if (ldd == cols && lds == cols) {
    std::memcpy(dst, src, static_cast<size_t>(rows * cols) * sizeof(float));
    return;
  }
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(dst + r * ldd, src + r * lds, static_cast<size_t>(cols) * sizeof(float));
}

void CpuBackend::convert_rows(void* dst, DType dtype, int64_t ldd, const float* src, int64_t lds, int64_t rows,
                              int64_t cols) {
  if (measuring()) return;
  const size_t esize = dtype_size(dtype);
  for (int64_t r = 0; r < rows; ++r) from_f32(static_cast<char*>(dst) + r * ldd * esize, dtype, src + r * lds, cols);
}

void CpuBackend::load_as_f32(float* dst, const Tensor& src) {
  LL_CHECK(src.is_contiguous());
  if (!measuring() && dst != src.data) to_f32(dst, src.data, src.dtype, src.numel());
}

Tensor CpuBackend::resident(const Tensor& host, OwnedTensor&) { return host; }

// ---- weights ----

void CpuBackend::prepare_weight(GemmWeight& w, const Tensor& source, Precision p) {
  LL_CHECK(source.ndim == 2 && source.is_contiguous());
  w.precision = p;
  if (gemm_reads_in_place(source, p)) {
    w.view = source;
    w.copy = OwnedTensor();
    return;
  }
  if (w.copy.empty() || !w.copy.view().same_shape(source))
    w.copy = OwnedTensor(*this, gemm_weight_dtype(p), {source.shape[0], source.shape[1]});
  w.view = w.copy.view();
  if (!measuring()) convert_gemm_weight(w.view, source, p);
}

// ---- GEMMs ----

void CpuBackend::linear_forward(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t M, const GemmWeight& w,
                                bool accumulate, Arena& scratch) {
  if (measuring()) return take_scratch(scratch, linear_forward_scratch_bytes(M, w.view, w.precision));
  ll::linear_forward(y, ldy, x, ldx, M, w.view, w.precision, accumulate, scratch);
}

void CpuBackend::linear_backward_input(float* dx, int64_t lddx, const float* dy, int64_t lddy, int64_t M,
                                       const GemmWeight& w, bool accumulate, Arena& scratch) {
  if (measuring()) return take_scratch(scratch, linear_backward_input_scratch_bytes(M, w.view, w.precision));
  ll::linear_backward_input(dx, lddx, dy, lddy, M, w.view, w.precision, accumulate, scratch);
}

void CpuBackend::linear_backward_weight(float* dw, const float* dy, int64_t lddy, const float* x, int64_t ldx,
                                        int64_t M, int64_t N, int64_t K, Precision p, bool accumulate,
                                        Arena& scratch) {
  if (measuring()) return take_scratch(scratch, linear_backward_weight_scratch_bytes(M, N, K, p));
  ll::linear_backward_weight(dw, dy, lddy, x, ldx, M, N, K, p, accumulate, scratch);
}

void CpuBackend::bias_forward(float* y, int64_t ld, int64_t rows, const float* b, int64_t n) {
  if (!measuring()) ll::bias_forward(y, ld, rows, b, n);
}

void CpuBackend::bias_backward(float* db, const float* dy, int64_t ld, int64_t rows, int64_t n) {
  if (!measuring()) ll::bias_backward(db, dy, ld, rows, n);
}

// ---- norms, position, activation ----

void CpuBackend::rmsnorm_forward(float* y, float* rstd, const float* x, const float* w, int64_t rows, int64_t C,
                                 float eps) {
  if (!measuring()) ll::rmsnorm_forward(y, rstd, x, w, rows, static_cast<int>(C), eps);
}

void CpuBackend::rmsnorm_backward(float* dx, float* dw, const float* dy, const float* x, const float* w,
                                  const float* rstd, int64_t rows, int64_t C) {
  if (!measuring()) ll::rmsnorm_backward(dx, dw, dy, x, w, rstd, rows, static_cast<int>(C));
}

void CpuBackend::rope_forward(float* x, const int32_t* pos, int64_t T, int64_t heads, int64_t D, int64_t token_stride,
                              const RopeTable& table) {
  if (!measuring())
    ll::rope_forward(x, pos, T, static_cast<int>(heads), static_cast<int>(D), token_stride, table);
}

void CpuBackend::rope_backward(float* dx, const int32_t* pos, int64_t T, int64_t heads, int64_t D,
                               int64_t token_stride, const RopeTable& table) {
  if (!measuring())
    ll::rope_backward(dx, pos, T, static_cast<int>(heads), static_cast<int>(D), token_stride, table);
}

void CpuBackend::swiglu_forward(float* h, const float* gate_up, int64_t T, int64_t F) {
  if (!measuring()) swiglu_forward_fused(h, gate_up, T, static_cast<int>(F));
}

void CpuBackend::swiglu_backward(float* dgate_up, const float* dh, const float* gate_up, int64_t T, int64_t F) {
  if (!measuring()) swiglu_backward_fused(dgate_up, dh, gate_up, T, static_cast<int>(F));
}

void CpuBackend::round_to_bf16(float* dst, const float* src, int64_t n) {
  if (measuring()) return;
  constexpr int64_t kPiece = 1 << 16;
  const int64_t piece = parallel_grain(kPiece), pieces = (n + piece - 1) / piece;
#pragma omp parallel for schedule(static) if (pieces > 1)
  for (int64_t i = 0; i < pieces; ++i) ll::round_to_bf16(dst + i * piece, src + i * piece, std::min(piece, n - i * piece));
}

// ---- embedding and loss ----

void CpuBackend::embedding_forward(float* y, const int32_t* ids, int64_t n, const Tensor& table) {
  if (!measuring()) ll::embedding_forward(y, ids, n, table);
}

void CpuBackend::embedding_backward(float* dtable, const float* dy, const int32_t* ids, int64_t n, int64_t V,
                                    int64_t C) {
  if (!measuring()) ll::embedding_backward(dtable, dy, ids, n, V, static_cast<int>(C));
}

double CpuBackend::softmax_cross_entropy(float* logits, const int32_t* targets, int64_t rows, int64_t V,
                                         float grad_scale) {
  return measuring() ? 0.0 : ll::softmax_cross_entropy(logits, targets, rows, static_cast<int>(V), grad_scale);
}

double CpuBackend::cross_entropy_loss(const float* logits, const int32_t* targets, int64_t rows, int64_t V) {
  return measuring() ? 0.0 : ll::cross_entropy_loss(logits, targets, rows, static_cast<int>(V));
}

// ---- attention ----

int CpuBackend::threads() const { return threads_ > 0 ? threads_ : num_threads(); }

size_t CpuBackend::attention_scratch_bytes(int64_t head_dim) const {
  return ll::attention_scratch_bytes(head_dim, threads());
}

void CpuBackend::attention_forward(const AttentionShape& shape, const AttentionMask& mask, const AttentionQKV& in,
                                   const HeadsView& o, float* lse, Arena& scratch) {
  if (measuring()) return take_scratch(scratch, attention_forward_scratch_bytes(shape.head_dim, threads()));
  ll::attention_forward(shape, mask, in, o, lse, scratch);
}

void CpuBackend::attention_backward(const AttentionShape& shape, const AttentionMask& mask, const AttentionQKV& in,
                                    const HeadsView& o, const float* lse, const HeadsView& dout,
                                    const AttentionQKV& grads, Arena& scratch) {
  if (measuring()) return take_scratch(scratch, attention_backward_scratch_bytes(shape.head_dim, threads()));
  ll::attention_backward(shape, mask, in, o, lse, dout, grads, scratch);
}

void CpuBackend::attention_forward_cached(const CachedAttentionShape& shape, const AttentionQKV& in,
                                          const HeadsView& o, float* lse, Arena& scratch) {
  if (measuring()) return take_scratch(scratch, attention_forward_scratch_bytes(shape.head_dim, threads()));
  ll::attention_forward_cached(shape, in, o, lse, scratch);
}

// ---- optimizer and reductions ----

void CpuBackend::adamw_step(float* param, const float* grad, float* m, float* v, int64_t n, const AdamWSettings& s,
                            int64_t step) {
  if (!measuring()) ll::adamw_step(param, grad, m, v, n, s, step);
}

double CpuBackend::sum_of_squares(const float* x, int64_t n) { return measuring() ? 0.0 : ll::sum_of_squares(x, n); }

void CpuBackend::scale(float* x, int64_t n, float s) {
  if (!measuring()) scale_inplace(x, n, s);
}

int64_t CpuBackend::first_non_finite(const float* x, int64_t n) {
  return measuring() ? -1 : ll::first_non_finite(x, n);
}

}  // namespace ll
