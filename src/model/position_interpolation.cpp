#include "model/position_interpolation.h"

#include <cmath>

namespace ll {

double interpolation_factor(const LlamaConfig& config, int64_t target_context) {
  const double orig = static_cast<double>(config.max_position_embeddings) * config.rope_factor;
  if (target_context <= 0 || static_cast<double>(target_context) <= orig) return config.rope_factor;
  return std::ceil(static_cast<double>(target_context) / orig);
}

}  // namespace ll
