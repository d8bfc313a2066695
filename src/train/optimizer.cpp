#include "train/optimizer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace ll {

float global_grad_norm(const std::vector<NamedParam>& params) {
  double sum = 0;
  for (const NamedParam& p : params) sum += sum_of_squares(p.param->grad_data(), p.param->grad.numel());
  return static_cast<float>(std::sqrt(sum));
}

float clip_coefficient(float total_norm, double max_norm) {
  const float denom = total_norm + static_cast<float>(1e-6);
  return std::min((1.0f / denom) * static_cast<float>(max_norm), 1.0f);
}

void scale_grads(const std::vector<NamedParam>& params, float factor) {
  for (const NamedParam& p : params) scale_inplace(p.param->grad_data(), p.param->grad.numel(), factor);
}

float clip_grad_norm(const std::vector<NamedParam>& params, double max_norm) {
  const float total_norm = global_grad_norm(params);
  if (max_norm > 0) {
    const float coef = clip_coefficient(total_norm, max_norm);
    if (coef != 1.0f) scale_grads(params, coef);  // torch multiplies by 1 too: no change
  }
  return total_norm;
}

bool takes_weight_decay(const std::string& name) {
  // name = "<module path>.<parameter>"; the module's own name is the path's last component.
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos) return true;
  if (name.substr(dot + 1) == "bias") return false;
  const std::string module = name.substr(0, dot);
  return !module.substr(module.rfind('.') + 1).ends_with("norm");  // rfind: npos + 1 = 0, the whole path
}

AdamWOptimizer::AdamWOptimizer(std::vector<NamedParam> params, const AdamWSettings& settings) : settings_(settings) {
  for (const NamedParam& p : params) {
    LL_CHECK(p.param->trainable());
    const Tensor& t = p.param->value.view();
    slots_.push_back({p.name, p.param, OwnedTensor(DType::F32, t.shape, t.ndim), OwnedTensor(DType::F32, t.shape, t.ndim),
                      takes_weight_decay(p.name)});
  }
}

void AdamWOptimizer::step(double lr) {
  ++steps_;
  AdamWSettings s = settings_;
  s.lr = lr;
  for (Slot& slot : slots_) {
    Param& p = *slot.param;
    s.weight_decay = slot.decays ? settings_.weight_decay : 0.0;
    adamw_step(p.value.as<float>(), p.grad_data(), slot.m.as<float>(), slot.v.as<float>(), p.value.numel(), s, steps_);
  }
}

void AdamWOptimizer::restore(int64_t steps_done, const std::vector<Tensor>& m, const std::vector<Tensor>& v) {
  LL_CHECK(m.size() == slots_.size() && v.size() == slots_.size() && steps_done >= 0);
  for (size_t i = 0; i < slots_.size(); ++i) {
    LL_CHECK(m[i].same_shape(slots_[i].m.view()) && v[i].same_shape(slots_[i].v.view()));
    std::memcpy(slots_[i].m.data(), m[i].data, slots_[i].m.view().nbytes());
    std::memcpy(slots_[i].v.data(), v[i].data, slots_[i].v.view().nbytes());
  }
  steps_ = steps_done;
}

}  // namespace ll
