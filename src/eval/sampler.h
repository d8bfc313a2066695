// Picks the next token from a row of logits: greedy (argmax), or temperature + top-p
// (nucleus) sampling from a seeded generator, so a run is reproducible for a seed.
#pragma once
#include <cstdint>
#include <random>
#include <vector>

namespace ll {

struct SamplingOptions {
  bool greedy = false;
  float temperature = 0.8f;  // > 0 when not greedy
  float top_p = 0.95f;       // (0, 1]; 1 = sample from the whole distribution
  uint64_t seed = 1234;
};

class Sampler {
 public:
  explicit Sampler(const SamplingOptions& opts);
  // logits: [V]. Returns the chosen token id.
  int32_t next(const float* logits, int V);

 private:
  SamplingOptions opts_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int32_t>> candidates_;  // (probability, id), reused across calls
};

// Index of the largest logit (the first one on ties, as torch.argmax).
int32_t argmax(const float* logits, int V);

}  // namespace ll
