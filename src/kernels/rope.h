// Rotary position embedding (RoPE) in Hugging Face LLaMA's rotate-half layout, with linear position
// interpolation (LongLoRA / "rope_scaling": {"type": "linear"}) or Llama 3.1's frequency-dependent
// scaling ("rope_type": "llama3").
//
// A head vector x [D] is split into x1 = x[:D/2], x2 = x[D/2:]; for pair i in [0, D/2) at position p
//   angle(p, i) = (p / factor) · inv_freq[i],   inv_freq[i] = theta^(−2i/D) (or its llama3 scaling)
//   out[i]       = x1[i]·cos − x2[i]·sin          (= x·cos + rotate_half(x)·sin)
//   out[i + D/2] = x2[i]·cos + x1[i]·sin
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace ll {

// inv_freq = 1 / theta^(arange(0, D, 2) / D), every step in f32 as transformers computes it: [D/2].
std::vector<float> rope_inv_freq(int head_dim, double theta);

// Llama 3.1's scaling of inv_freq, step by step in f32 as transformers 4.47's
// _compute_llama3_parameters computes it with PyTorch's scalar semantics (a Python number meets an
// f32 tensor as an f32; number / tensor is tensor.reciprocal() · number):
//   wavelen = 2π / inv_freq;  low = original / low_freq_factor,  high = original / high_freq_factor
//   wavelen < high: inv_freq;  wavelen > low: inv_freq / factor;
//   between: (1 − s) · inv_freq / factor + s · inv_freq,  s = (original / wavelen − low_freq_factor)
//                                                              / (high_freq_factor − low_freq_factor)
std::vector<float> llama3_inv_freq(const std::vector<float>& inv_freq, double factor, double low_freq_factor,
                                   double high_freq_factor, double original_context);

// cos/sin of every angle for positions [0, max_positions), computed the way transformers'
// LlamaLinearScalingRotaryEmbedding does in float32 (4.3x, the LongLoRA era):
//   t = f32(p) / factor  (f32),  freq = t · inv_freq  (f32),  cos(freq), sin(freq)
// (with factor 1, freq = f32(p) · inv_freq, as 4.4x's rotary embedding computes it for llama3), so
// tables agree with HF's to about 1 ulp (pow/cos/sin here are double-precision libm results rounded
// to f32; PyTorch uses SLEEF's 1-ulp f32 versions). The table is sized once by max_positions
// (D·max_positions floats), lives in `memory` (a backend's device, the host by default) and is
// read-only afterwards, so threads share it.
class RopeTable {
 public:
  // inv_freq [D/2]; factor: the linear interpolation factor (1 = none).
  RopeTable(std::vector<float> inv_freq, double factor, int64_t max_positions, MemoryResource& memory = host_memory());
  // Unscaled frequencies of theta with a linear factor.
  RopeTable(int head_dim, double theta, double factor, int64_t max_positions, MemoryResource& memory = host_memory());

  int head_dim() const { return head_dim_; }
  int64_t max_positions() const { return max_positions_; }
  // D/2 values for position p in [0, max_positions): entry i serves x[i] and x[i + D/2].
  const float* cos(int64_t p) const { return cos_.as<float>() + p * (head_dim_ / 2); }
  const float* sin(int64_t p) const { return sin_.as<float>() + p * (head_dim_ / 2); }

 private:
  int head_dim_;
  int64_t max_positions_;
  OwnedTensor cos_, sin_;  // [max_positions, D/2]
};

// In place on a [T, n_heads, head_dim] block whose token rows start token_stride floats apart
// (e.g. q or k inside a fused [T, (Hq + 2·Hkv)·D] projection output): rotates every head of token
// t by the angles of position pos[t]. pos[t] must be in [0, table.max_positions()).
// Products and sums are rounded as PyTorch's (no fused multiply-add), so with equal tables the
// result is bit-identical to HF's apply_rotary_pos_emb.
void rope_forward(float* x, const int32_t* pos, int64_t T, int n_heads, int head_dim, int64_t token_stride,
                  const RopeTable& table);

// Backward of rope_forward (out = R(p)·x, R a rotation per pair): dx ← R(p)ᵀ·dx in place, i.e.
//   dx1 ← dx1·cos + dx2·sin,   dx2 ← dx2·cos − dx1·sin.
void rope_backward(float* dx, const int32_t* pos, int64_t T, int n_heads, int head_dim, int64_t token_stride,
                   const RopeTable& table);

}  // namespace ll
