// The seam between the model and the hardware: one op set, several backends (DESIGN.md §4).
//
// A Backend owns device memory (it is the MemoryResource of the model's buffers: weights prepared for
// its GEMMs, the trainable store, the activation arena, the KV cache, RoPE tables) and implements
// every op the model, the trainer, eval and generation run. The model never calls a kernel or a
// vendor API, never copies or loops over activation memory itself: everything below goes through
// here, so a second backend (CUDA) runs the same model code, and one harness (tests/backend) proves
// every backend agrees with the double-precision reference on every op.
//
// Conventions. Pointers and Tensors passed to ops are in the backend's memory (device() says where);
// host pointers are named host_*. Activations are f32 row-major with an explicit row stride (ld*, in
// floats) where a view into a wider buffer is common. Shapes in comments: R rows (tokens), C hidden,
// V vocabulary, H heads, D head dimension, N out / K in features of a projection.
// Ops with scratch take it from the caller's Arena (same backend) and release it before returning.
//
// Measuring: a backend constructed in measuring mode allocates nothing real (its memory is a
// MeasuringMemory) and its ops do nothing but the scratch allocations they would make. The memory
// plan runs the real training and inference passes on such a backend (model/memory_plan.h).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/arena.h"
#include "core/memory.h"
#include "core/precision.h"
#include "core/tensor.h"
#include "kernels/adamw.h"
#include "kernels/attention/attention.h"
#include "kernels/rope.h"

namespace ll {

// A weight [N, K] (out, in; HF's Linear layout, y = x·Wᵀ) as a backend's GEMMs read it: a view of
// the source where the backend reads it in place (an mmapped f32, f16 or bf16 checkpoint on the
// CPU), otherwise a converted copy on the device. Trainable weights are prepared again from their f32 masters after
// every optimizer step (Backend::prepare_weight).
struct GemmWeight {
  // [N, K]: f32; bf16 where the backend runs bf16 GEMMs natively; or a 16-bit (f16/bf16) source read
  // in place by f32 GEMMs that widen it as they go (the CPU backend: a mapped 16-bit checkpoint is
  // never copied whole, kernels/matmul.h), rounded to bf16 at Precision::BF16.
  Tensor view;
  OwnedTensor copy;  // owns view's memory when it is a copy
  Precision precision = Precision::F32;

  int64_t rows() const { return view.shape[0]; }  // N (out features)
  int64_t cols() const { return view.shape[1]; }  // K (in features)
  bool empty() const { return view.empty(); }
  bool owns_copy() const { return !copy.empty(); }
};

// A frozen LoRA adapter's place in a projection's pass (model/lora.h owns the parameters):
//   y += scale · t·Bᵀ,   t = dropout(x)·Aᵀ  [R, r]
struct LoraOp {
  const GemmWeight* A = nullptr;  // [r, K]
  const GemmWeight* B = nullptr;  // [N, r]
  float* dA = nullptr;            // [r, K] gradient (accumulated), nullptr when frozen
  float* dB = nullptr;            // [N, r]
  float scale = 1;
  float dropout = 0;              // probability, applied only when the pass is training
  uint64_t dropout_stream = 0;    // which masks this adapter draws
  int64_t rank() const { return A->rows(); }
};

// Which random LoRA-dropout masks a pass draws: the same (seed, step) in the forward and in the
// recomputing backward gives the same masks. The keep bit of element (r, c) of an adapter's input
// is a function of (seed, step, adapter stream, r, c) only (splitmix64), so every backend draws the
// same masks.
struct DropoutContext {
  uint64_t seed = 0;
  uint64_t step = 0;
  bool training = false;  // dropout only applies while training
};

class Backend : public MemoryResource {
 public:
  ~Backend() override = default;
  virtual std::string name() const = 0;  // "cpu (avx2)"
  // What runs the GEMMs and whether bf16 ones are native (else bf16-rounded values in f32 GEMMs:
  // the same numbers at f32 speed), for `info` and the demo's choice of dtype.
  virtual std::string gemm_engine() const = 0;
  virtual bool native_bf16() const = 0;
  bool measuring() const override { return measuring_; }

  // ---- memory (MemoryResource: allocate, deallocate, fill_zero, upload, download, copy, device) ----
  // dst[r, 0:cols] = src[r, 0:cols] for r < rows (row strides ldd, lds floats).
  virtual void copy_rows(float* dst, int64_t ldd, const float* src, int64_t lds, int64_t rows, int64_t cols) = 0;
  // dst[r, 0:cols] = src[r, 0:cols] stored as `dtype` for r < rows: f32 copied, bf16 and f16 rounded to
  // nearest even (row strides ldd in elements of dtype, lds floats). Fills a 16-bit KV cache.
  virtual void convert_rows(void* dst, DType dtype, int64_t ldd, const float* src, int64_t lds, int64_t rows,
                            int64_t cols) = 0;
  // dst[n] f32 = src widened exactly: src contiguous, on the host (f32/f16/bf16; a mapped checkpoint's
  // norms, an adapter file's matrices) or in this backend's memory (f32, or bf16/f16: training's bf16
  // checkpoints). Loads norms and masters, and widens kept activations back.
  virtual void load_as_f32(float* dst, const Tensor& src) = 0;
  // The tensor as ops read it: `host` itself where the backend reads host memory in place, else a
  // device copy held in `keep` (an embedding table read by embedding_forward).
  virtual Tensor resident(const Tensor& host, OwnedTensor& keep) = 0;

  // ---- weights ----
  // w ← `source` [N, K] (f32/f16/bf16, contiguous; on the host, e.g. a mapped checkpoint, or in this
  // backend's memory, e.g. an f32 master after an optimizer step) prepared for GEMMs at precision p.
  // A copy w already owns is reused when the shape is unchanged.
  virtual void prepare_weight(GemmWeight& w, const Tensor& source, Precision p) = 0;

  // ---- GEMMs: y = x·Wᵀ and its backward ----
  // y[M, N] (+)= x[M, K]·Wᵀ, at W's precision.
  virtual void linear_forward(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t M, const GemmWeight& w,
                              bool accumulate, Arena& scratch) = 0;
  // dx[M, K] (+)= dy[M, N]·W.
  virtual void linear_backward_input(float* dx, int64_t lddx, const float* dy, int64_t lddy, int64_t M,
                                     const GemmWeight& w, bool accumulate, Arena& scratch) = 0;
  // dW[N, K] (+)= dyᵀ·x (f32 result), inputs at precision p.
  virtual void linear_backward_weight(float* dw, const float* dy, int64_t lddy, const float* x, int64_t ldx, int64_t M,
                                      int64_t N, int64_t K, Precision p, bool accumulate, Arena& scratch) = 0;

  // ---- a projection's bias: y = x·Wᵀ + b ----
  // y[r, 0:n] += b for r < rows (row stride ld).
  virtual void bias_forward(float* y, int64_t ld, int64_t rows, const float* b, int64_t n) = 0;
  // db[n] += Σ_r dy[r, 0:n] (ACCUMULATES), in an order independent of the thread count.
  virtual void bias_backward(float* db, const float* dy, int64_t ld, int64_t rows, int64_t n) = 0;

  // ---- the fused LoRA path, beside a projection's GEMM ----
  // t[M, r] = dropout(x)·Aᵀ;  y[M, N] += scale · t·Bᵀ.
  virtual void lora_forward(const LoraOp& lora, float* y, int64_t ldy, const float* x, int64_t ldx, int64_t M,
                            float* t, const DropoutContext& dropout, Arena& scratch) = 0;
  // Backward of lora_forward given dy [M, N], its input x and the saved t:
  //   dB += scale · dyᵀ·t;  dt = scale · dy·B;  dA += dtᵀ·dropout(x);  dx += dropout'(dt·A) (dx may be nullptr)
  virtual void lora_backward(const LoraOp& lora, float* dx, int64_t lddx, const float* dy, int64_t lddy,
                             const float* x, int64_t ldx, const float* t, int64_t M, const DropoutContext& dropout,
                             Arena& scratch) = 0;

  // ---- norms, position, activation ----
  // y[R, C] = x · rstd · w, rstd[r] = (mean_c x² + eps)^(−1/2) saved unless nullptr. y may equal x.
  virtual void rmsnorm_forward(float* y, float* rstd, const float* x, const float* w, int64_t rows, int64_t C,
                               float eps) = 0;
  // dx += ∂y/∂x·dy (ACCUMULATES); dw += Σ_r dy·x·rstd (ACCUMULATES; nullptr = frozen).
  virtual void rmsnorm_backward(float* dx, float* dw, const float* dy, const float* x, const float* w,
                                const float* rstd, int64_t rows, int64_t C) = 0;
  // In place on [T, heads, D] rows token_stride apart: rotate head vectors by the angles of pos[t].
  virtual void rope_forward(float* x, const int32_t* pos, int64_t T, int64_t heads, int64_t D, int64_t token_stride,
                            const RopeTable& table) = 0;
  virtual void rope_backward(float* dx, const int32_t* pos, int64_t T, int64_t heads, int64_t D,
                             int64_t token_stride, const RopeTable& table) = 0;
  // h[T, F] = silu(gate_up[:, :F]) · gate_up[:, F:].
  virtual void swiglu_forward(float* h, const float* gate_up, int64_t T, int64_t F) = 0;
  // dgate_up[T, 2F] = (dgate | dup) of the above (WRITES; may equal gate_up).
  virtual void swiglu_backward(float* dgate_up, const float* dh, const float* gate_up, int64_t T, int64_t F) = 0;
  // dst[n] = src rounded to bf16 (held in f32): what bf16 compute holds q, k, v in. dst may equal src.
  virtual void round_to_bf16(float* dst, const float* src, int64_t n) = 0;

  // ---- embedding and loss ----
  // y[n, C] = table[ids[i], :] (table f32/f16/bf16, resident). Ids were checked on the host.
  virtual void embedding_forward(float* y, const int32_t* ids, int64_t n, const Tensor& table) = 0;
  // dtable[ids[i], :] += dy[i, :] (ACCUMULATES, [V, C] f32), bit-identical for any thread count.
  virtual void embedding_backward(float* dtable, const float* dy, const int32_t* ids, int64_t n, int64_t V,
                                  int64_t C) = 0;
  // In place: logits [rows, V] → (softmax − onehot(target))·grad_scale; returns Σ loss over rows whose
  // target ≠ −100 (double, row order).
  virtual double softmax_cross_entropy(float* logits, const int32_t* targets, int64_t rows, int64_t V,
                                       float grad_scale) = 0;
  // The same sum without the gradient; logits unchanged.
  virtual double cross_entropy_loss(const float* logits, const int32_t* targets, int64_t rows, int64_t V) = 0;

  // ---- attention (kernels/attention/attention.h for the semantics) ----
  virtual void attention_forward(const AttentionShape& shape, const AttentionMask& mask, const AttentionQKV& in,
                                 const HeadsView& o, float* lse, Arena& scratch) = 0;
  virtual void attention_backward(const AttentionShape& shape, const AttentionMask& mask, const AttentionQKV& in,
                                  const HeadsView& o, const float* lse, const HeadsView& dout,
                                  const AttentionQKV& grads, Arena& scratch) = 0;
  virtual void attention_forward_cached(const CachedAttentionShape& shape, const AttentionQKV& in, const HeadsView& o,
                                        float* lse, Arena& scratch) = 0;
  // Bytes attention takes from the scratch Arena (forward or backward, whichever is larger).
  virtual size_t attention_scratch_bytes(int64_t head_dim) const = 0;

  // ---- optimizer and reductions over the flat trainable store ----
  // One torch.optim.AdamW update of n parameters (kernels/adamw.h); step is 1-based.
  virtual void adamw_step(float* param, const float* grad, float* m, float* v, int64_t n, const AdamWSettings& s,
                          int64_t step) = 0;
  // Σ x² in double, in a fixed order (independent of threads).
  virtual double sum_of_squares(const float* x, int64_t n) = 0;
  virtual void scale(float* x, int64_t n, float s) = 0;
  // Index of the first NaN or ±Inf in x[n], or −1.
  virtual int64_t first_non_finite(const float* x, int64_t n) = 0;

 protected:
  explicit Backend(bool measuring) : measuring_(measuring) {}

 private:
  bool measuring_;
};

// `t` (on the host or in `backend`'s memory) as the host reads it: t itself when it is host memory,
// else a copy downloaded into `keep`. For writing files.
Tensor host_view(Backend& backend, const Tensor& t, OwnedTensor& keep);

// The CPU backend (backend/cpu_backend.h) at the process's CPU path, and a measuring twin for the
// memory plan's dry runs of a run with `threads` threads (0 = this process's count).
Backend& cpu_backend();
std::unique_ptr<Backend> make_measuring_cpu_backend(int threads);

// Every backend this build and machine can run, for the harness: the CPU backend, then any
// registered device backend that found a device.
std::vector<Backend*> available_backends();

}  // namespace ll
