#include "eval/sampler.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace ll {

int32_t argmax(const float* logits, int V) {
  int32_t best = 0;
  for (int i = 1; i < V; ++i)
    if (logits[i] > logits[best]) best = i;
  return best;
}

Sampler::Sampler(const SamplingOptions& opts) : opts_(opts), rng_(opts.seed) {
  if (!opts.greedy && !(opts.temperature > 0))
    fail_expected("sampling", "--temperature", "a value > 0 (or --greedy)", std::to_string(opts.temperature));
  if (!(opts.top_p > 0 && opts.top_p <= 1))
    fail_expected("sampling", "--top-p", "a value in (0, 1]", std::to_string(opts.top_p));
}

int32_t Sampler::next(const float* logits, int V) {
  if (opts_.greedy) return argmax(logits, V);
  // Softmax of logits / temperature.
  const float max_logit = logits[argmax(logits, V)];
  candidates_.resize(static_cast<size_t>(V));
  double sum = 0;
  for (int i = 0; i < V; ++i) {
    const float p = std::exp((logits[i] - max_logit) / opts_.temperature);
    candidates_[i] = {p, i};
    sum += p;
  }
  // Keep the smallest set of most likely tokens whose mass reaches top_p.
  std::sort(candidates_.begin(), candidates_.end(),
            [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
  size_t keep = candidates_.size();
  if (opts_.top_p < 1) {
    double mass = 0;
    for (size_t i = 0; i < candidates_.size(); ++i) {
      mass += candidates_[i].first / sum;
      if (mass >= opts_.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  double kept_mass = 0;
  for (size_t i = 0; i < keep; ++i) kept_mass += candidates_[i].first;
  const double u = std::uniform_real_distribution<double>(0, kept_mass)(rng_);
  double acc = 0;
  for (size_t i = 0; i < keep; ++i) {
    acc += candidates_[i].first;
    if (u < acc) return candidates_[i].second;
  }
  return candidates_[keep - 1].second;
}

}  // namespace ll
