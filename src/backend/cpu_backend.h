// The CPU backend: today's kernels (src/kernels: oneDNN GEMMs, and our own vectorised, OpenMP-threaded
// norms, RoPE, SwiGLU, embedding, cross-entropy, flash attention, AdamW) on host memory, at the
// process's CPU path (core/cpu_isa.h: portable / AVX2 / AVX-512). Weights an f32 GEMM can read in
// place (an mmapped f32 checkpoint) are used without a copy.
//
// In measuring mode (the memory plan's dry runs) its memory is a MeasuringMemory and every op returns
// after taking from the scratch Arena what it would take.
#pragma once
#include "backend/backend.h"

namespace ll {

class CpuBackend final : public Backend {
 public:
  // `threads`: the thread count a measuring backend plans for (0 = the process's).
  explicit CpuBackend(bool measuring = false, int threads = 0);

  std::string name() const override;
  std::string gemm_engine() const override;
  bool native_bf16() const override;

  void* allocate(size_t bytes) override;
  void deallocate(void* p, size_t bytes) override;
  void fill_zero(void* p, size_t bytes) override;
  void upload(void* dst, const void* host_src, size_t bytes) override;
  void download(void* host_dst, const void* src, size_t bytes) override;
  void copy(void* dst, const void* src, size_t bytes) override;
  Device device() const override { return Device::Host; }
  bool host_accessible() const override { return !measuring(); }
  // Bytes allocated and not yet freed, and their peak (measuring mode only; 0 otherwise).
  size_t measured_in_use() const { return measure_.in_use(); }
  size_t measured_peak() const { return measure_.peak(); }

  void copy_rows(float* dst, int64_t ldd, const float* src, int64_t lds, int64_t rows, int64_t cols) override;
  void convert_rows(void* dst, DType dtype, int64_t ldd, const float* src, int64_t lds, int64_t rows,
                    int64_t cols) override;
  void load_as_f32(float* dst, const Tensor& src) override;
  Tensor resident(const Tensor& host, OwnedTensor& keep) override;

  void prepare_weight(GemmWeight& w, const Tensor& source, Precision p) override;

  void linear_forward(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t M, const GemmWeight& w,
                      bool accumulate, Arena& scratch) override;
  void linear_backward_input(float* dx, int64_t lddx, const float* dy, int64_t lddy, int64_t M, const GemmWeight& w,
                             bool accumulate, Arena& scratch) override;
  void linear_backward_weight(float* dw, const float* dy, int64_t lddy, const float* x, int64_t ldx, int64_t M,
                              int64_t N, int64_t K, Precision p, bool accumulate, Arena& scratch) override;
  void bias_forward(float* y, int64_t ld, int64_t rows, const float* b, int64_t n) override;
  void bias_backward(float* db, const float* dy, int64_t ld, int64_t rows, int64_t n) override;
  void lora_forward(const LoraOp& lora, float* y, int64_t ldy, const float* x, int64_t ldx, int64_t M, float* t,
                    const DropoutContext& dropout, Arena& scratch) override;
  void lora_backward(const LoraOp& lora, float* dx, int64_t lddx, const float* dy, int64_t lddy, const float* x,
                     int64_t ldx, const float* t, int64_t M, const DropoutContext& dropout, Arena& scratch) override;

  void rmsnorm_forward(float* y, float* rstd, const float* x, const float* w, int64_t rows, int64_t C,
                       float eps) override;
  void rmsnorm_backward(float* dx, float* dw, const float* dy, const float* x, const float* w, const float* rstd,
                        int64_t rows, int64_t C) override;
  void rope_forward(float* x, const int32_t* pos, int64_t T, int64_t heads, int64_t D, int64_t token_stride,
                    const RopeTable& table) override;
  void rope_backward(float* dx, const int32_t* pos, int64_t T, int64_t heads, int64_t D, int64_t token_stride,
                     const RopeTable& table) override;
  void swiglu_forward(float* h, const float* gate_up, int64_t T, int64_t F) override;
  void swiglu_backward(float* dgate_up, const float* dh, const float* gate_up, int64_t T, int64_t F) override;
  void round_to_bf16(float* dst, const float* src, int64_t n) override;

  void embedding_forward(float* y, const int32_t* ids, int64_t n, const Tensor& table) override;
  void embedding_backward(float* dtable, const float* dy, const int32_t* ids, int64_t n, int64_t V,
                          int64_t C) override;
  double softmax_cross_entropy(float* logits, const int32_t* targets, int64_t rows, int64_t V,
                               float grad_scale) override;
  double cross_entropy_loss(const float* logits, const int32_t* targets, int64_t rows, int64_t V) override;

  void attention_forward(const AttentionShape& shape, const AttentionMask& mask, const AttentionQKV& in,
                         const HeadsView& o, float* lse, Arena& scratch) override;
  void attention_backward(const AttentionShape& shape, const AttentionMask& mask, const AttentionQKV& in,
                          const HeadsView& o, const float* lse, const HeadsView& dout, const AttentionQKV& grads,
                          Arena& scratch) override;
  void attention_forward_cached(const CachedAttentionShape& shape, const AttentionQKV& in, const HeadsView& o,
                                float* lse, Arena& scratch) override;
  size_t attention_scratch_bytes(int64_t head_dim) const override;

  void adamw_step(float* param, const float* grad, float* m, float* v, int64_t n, const AdamWSettings& s,
                  int64_t step) override;
  double sum_of_squares(const float* x, int64_t n) override;
  void scale(float* x, int64_t n, float s) override;
  int64_t first_non_finite(const float* x, int64_t n) override;

 private:
  int threads() const;  // the thread count the ops run (or, measuring, plan for)

  MeasuringMemory measure_;
  int threads_;
};

}  // namespace ll
