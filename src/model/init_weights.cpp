#include "model/init_weights.h"

#include <filesystem>
#include <random>
#include <vector>

#include "core/half.h"
#include "core/mapped_file.h"
#include "formats/llama_tensors.h"
#include "formats/safetensors_writer.h"

namespace ll {

void write_initialized_llama(const std::string& dir, const LlamaConfig& config, uint64_t seed, DType dtype,
                             const std::string& tokenizer_model, double initializer_range) {
  validate_llama_config(config, dir + "/config.json");
  std::filesystem::create_directories(dir);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, static_cast<float>(initializer_range));
  std::vector<OwnedTensor> storage;
  NamedTensors tensors;
  std::vector<float> values;
  for (const ExpectedTensor& t : llama_expected_tensors(config)) {
    int64_t n = 1;
    for (int64_t s : t.shape) n *= s;
    values.resize(static_cast<size_t>(n));
    const bool is_norm = t.shape.size() == 1;
    for (float& v : values) v = is_norm ? 1.0f : normal(rng);
    storage.emplace_back(dtype, t.shape.data(), static_cast<int>(t.shape.size()));
    from_f32(storage.back().data(), dtype, values.data(), n);
    tensors.push_back({t.name, storage.back().view()});
  }
  write_safetensors(dir + "/model.safetensors", tensors, {{"format", "pt"}});
  LlamaConfig saved = config;
  saved.torch_dtype = dtype;
  write_text_file_atomic(dir + "/config.json", to_hf_config_json(saved).dump(2) + "\n");
  if (!tokenizer_model.empty())
    std::filesystem::copy_file(tokenizer_model, dir + "/tokenizer.model",
                               std::filesystem::copy_options::overwrite_existing);
}

}  // namespace ll
