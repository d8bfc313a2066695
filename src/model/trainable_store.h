// The trainable parameters of a model in four flat f32 buffers on its backend — values (the f32
// masters), gradients, and AdamW's first and second moments — each parameter a named view at the same
// offset in all four (llm.c's malloc_and_point_parameters). Zeroing the gradients, the global norm,
// clipping, the NaN scan, the optimizer update and an all-reduce are each one pass over one buffer;
// checkpoints save the named views.
//
// Built in two phases: declare() every parameter (in the model's fixed order), then allocate(). The
// buffers hold the parameters that take weight decay first, then those that do not (HF Trainer's
// two parameter groups, takes_weight_decay): each group is one contiguous range for the optimizer.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace ll {

// Whether weight decay applies to the trainable tensor `name`, by HF Trainer's rule
// (Trainer.get_decay_parameter_names): every parameter except those of normalisation layers (LLaMA's
// RMSNorm: input_layernorm, post_attention_layernorm, model.norm) and biases. LoRA matrices, embeddings,
// lm_head and projection weights decay.
bool takes_weight_decay(const std::string& name);

class TrainableStore {
 public:
  struct Slot {
    std::string name;
    bool decays = true;  // takes_weight_decay(name)
    int64_t offset = 0;  // elements from the start of each buffer (a multiple of 16: 64-byte aligned)
    int ndim = 0;
    int64_t shape[kMaxDims] = {};
    int64_t numel() const;
  };

  // Declares a parameter; returns its index. InputError on a repeated name (a model bug).
  size_t declare(const std::string& name, const int64_t* shape, int ndim);
  // Allocates the values and gradients, zero-filled, in `memory`.
  void allocate(MemoryResource& memory);
  // Allocates AdamW's m and v, zero-filled (the optimizer's first step): for every element, or with
  // ZeRO-1 (several ranks) only for the elements [begin, end) — multiples of 16 — this rank updates.
  void allocate_moments();
  void allocate_moments(int64_t begin, int64_t end);
  bool allocated() const { return !values_.empty(); }
  bool has_moments() const { return !m_.empty(); }

  const std::vector<Slot>& slots() const { return slots_; }
  int64_t elements() const { return elements_; }  // per buffer, padding included
  // The decaying parameters are the elements [0, decaying_elements()) of each buffer.
  int64_t decaying_elements() const { return decaying_elements_; }
  MemoryResource& memory() const { return *memory_; }

  // Views of parameter i (m and v only when the moments are not sharded).
  Tensor value(size_t i) const { return view(values_, i); }
  Tensor grad(size_t i) const { return view(grads_, i); }
  Tensor m(size_t i) const;
  Tensor v(size_t i) const;
  // The whole buffers [elements()].
  float* values() const { return values_.as<float>(); }
  float* grads() const { return grads_.as<float>(); }
  // The moments of the elements [moments_begin(), moments_end()): element e at [e − moments_begin()].
  float* moments_m() const { return m_.as<float>(); }
  float* moments_v() const { return v_.as<float>(); }
  int64_t moments_begin() const { return moments_begin_; }
  int64_t moments_end() const { return moments_end_; }
  bool moments_sharded() const { return moments_begin_ != 0 || moments_end_ != elements_; }


 private:
  Tensor view(const OwnedTensor& buffer, size_t i) const;

  std::vector<Slot> slots_;
  int64_t elements_ = 0, decaying_elements_ = 0;
  int64_t moments_begin_ = 0, moments_end_ = 0;
  MemoryResource* memory_ = nullptr;
  OwnedTensor values_, grads_, m_, v_;
};

}  // namespace ll
