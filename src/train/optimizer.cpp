#include "train/optimizer.h"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace ll {

float global_grad_norm(Backend& backend, const TrainableStore& store) {
  return static_cast<float>(std::sqrt(backend.sum_of_squares(store.grads(), store.elements())));
}

float clip_coefficient(float total_norm, double max_norm) {
  const float denom = total_norm + static_cast<float>(1e-6);
  return std::min((1.0f / denom) * static_cast<float>(max_norm), 1.0f);
}

void scale_grads(Backend& backend, TrainableStore& store, float factor) {
  backend.scale(store.grads(), store.elements(), factor);
}

float clip_grad_norm(Backend& backend, TrainableStore& store, double max_norm) {
  const float total_norm = global_grad_norm(backend, store);
  if (max_norm > 0) {
    const float coef = clip_coefficient(total_norm, max_norm);
    if (coef != 1.0f) scale_grads(backend, store, coef);  // torch multiplies by 1 too: no change
  }
  return total_norm;
}

AdamWOptimizer::AdamWOptimizer(Backend& backend, TrainableStore& store, const AdamWSettings& settings)
    : AdamWOptimizer(backend, store, settings, 0, store.elements()) {}

AdamWOptimizer::AdamWOptimizer(Backend& backend, TrainableStore& store, const AdamWSettings& settings, int64_t begin,
                               int64_t end)
    : backend_(backend), store_(store), settings_(settings) {
  store_.allocate_moments(begin, end);
}

void AdamWOptimizer::step(double lr) {
  ++steps_;
  AdamWSettings s = settings_;
  s.lr = lr;
  // HF Trainer's two parameter groups, each a contiguous range of the store: [0, decaying) with
  // weight decay, the rest without; each cut to the elements whose moments this optimizer holds.
  const int64_t decaying = store_.decaying_elements(), first = store_.moments_begin(), last = store_.moments_end();
  for (const auto& [group_begin, group_end, decay] : {std::tuple{int64_t{0}, decaying, settings_.weight_decay},
                                                      std::tuple{decaying, store_.elements(), 0.0}}) {
    const int64_t begin = std::max(group_begin, first), end = std::min(group_end, last);
    if (begin >= end) continue;
    s.weight_decay = decay;
    backend_.adamw_step(store_.values() + begin, store_.grads() + begin, store_.moments_m() + (begin - first),
                        store_.moments_v() + (begin - first), end - begin, s, steps_);
  }
}

void AdamWOptimizer::restore(int64_t steps_done) {
  LL_CHECK(steps_done >= 0);
  steps_ = steps_done;
}

}  // namespace ll
