#include "model/linear.h"

namespace ll {

void linear_layer_forward(Backend& backend, const Linear& lin, float* y, int64_t ldy, const float* x, int64_t ldx,
                          int64_t R, float* lora_t, bool accumulate, const DropoutContext& dropout, Arena& arena) {
  backend.linear_forward(y, ldy, x, ldx, R, lin.weight, accumulate, arena);
  if (lin.has_bias()) backend.bias_forward(y, ldy, R, lin.bias.data(), lin.out());
  if (lin.lora) backend.lora_forward(lin.lora->op(), y, ldy, x, ldx, R, lora_t, dropout, arena);
}

void linear_layer_backward(Backend& backend, const Linear& lin, float* dx, int64_t lddx, bool accumulate_dx,
                           const float* dy, int64_t lddy, const float* x, int64_t ldx, const float* lora_t, int64_t R,
                           const DropoutContext& dropout, Arena& arena) {
  // y = x·Wᵀ:  dx = dy·W,  dW += dyᵀ·x
  if (dx) backend.linear_backward_input(dx, lddx, dy, lddy, R, lin.weight, accumulate_dx, arena);
  if (lin.master && lin.master->trainable())
    backend.linear_backward_weight(lin.master->grad_data(), dy, lddy, x, ldx, R, lin.out(), lin.in(),
                                   lin.weight.precision, /*accumulate=*/true, arena);
  // y += b:  db += Σ_rows dy
  if (lin.bias.trainable()) backend.bias_backward(lin.bias.grad_data(), dy, lddy, R, lin.out());
  // y += scale·(dropout(x)·Aᵀ)·Bᵀ: dA, dB, and dx += dropout'(scale·dy·B·A)
  if (lin.lora) backend.lora_backward(lin.lora->op(), dx, lddx, dy, lddy, x, ldx, lora_t, R, dropout, arena);
}

}  // namespace ll
