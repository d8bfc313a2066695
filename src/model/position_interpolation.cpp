#include "model/position_interpolation.h"

#include <cmath>

namespace ll {

double model_context(const LlamaConfig& config) {
  const auto positions = static_cast<double>(config.max_position_embeddings);
  return config.llama3 ? positions : positions * config.rope_factor;
}

double interpolation_factor(const LlamaConfig& config, int64_t target_context) {
  const double orig = model_context(config);
  if (target_context <= 0 || static_cast<double>(target_context) <= orig) return config.rope_factor;
  const double k = std::ceil(static_cast<double>(target_context) / orig);
  return config.llama3 ? config.rope_factor * k : k;
}

void set_rope_factor(LlamaConfig& config, double factor) {
  if (config.llama3 && factor != config.rope_factor)
    config.max_position_embeddings = std::llround(static_cast<double>(config.max_position_embeddings) * factor /
                                                  config.rope_factor);
  config.rope_factor = factor;
}

RopeTable rope_table_for(const LlamaConfig& c, int64_t n_positions, MemoryResource& memory) {
  std::vector<float> inv_freq = rope_inv_freq(static_cast<int>(c.head_dim), c.rope_theta);
  if (!c.llama3) return RopeTable(std::move(inv_freq), c.rope_factor, n_positions, memory);
  const Llama3RopeScaling& l3 = *c.llama3;
  return RopeTable(llama3_inv_freq(inv_freq, c.rope_factor, l3.low_freq_factor, l3.high_freq_factor,
                                   static_cast<double>(l3.original_max_position_embeddings)),
                   1.0, n_positions, memory);
}

}  // namespace ll
