// SwiGLU, the gated activation of the LLaMA MLP: h = silu(gate) · up with silu(g) = g · sigmoid(g).
#pragma once
#include <cstdint>

namespace ll {

// h[n] = silu(gate[n]) · up[n]. h may equal gate or up.
void swiglu_forward(float* h, const float* gate, const float* up, int64_t n);

// Backward of h = silu(g) · u, with s = sigmoid(g):
//   dgate = dh · u · s · (1 + g · (1 − s))        (WRITES, =)
//   dup   = dh · silu(g)                          (WRITES, =)
// In place is supported: dgate may equal gate and dup may equal up (each element is read before
// it is overwritten), which saves two [n] buffers. No other overlaps.
void swiglu_backward(float* dgate, float* dup, const float* dh, const float* gate, const float* up, int64_t n);

// The same on a fused gate/up GEMM output gate_up [T, 2F] (gate = columns [0, F), up = [F, 2F)):
// h [T, F] = silu(gate_up[:, :F]) · gate_up[:, F:].
void swiglu_forward_fused(float* h, const float* gate_up, int64_t T, int F);

// Backward of swiglu_forward_fused: dgate_up [T, 2F] gets (dgate | dup) as above (WRITES, =).
// dgate_up may equal gate_up (in place).
void swiglu_backward_fused(float* dgate_up, const float* dh, const float* gate_up, int64_t T, int F);

}  // namespace ll
