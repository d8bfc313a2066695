#include "model/adapter.h"

#include <cmath>
#include <filesystem>

#include "formats/json_file.h"
#include "formats/peft.h"
#include "formats/weight_file.h"

namespace ll {

namespace fs = std::filesystem;

AdapterFiles locate_adapter(const std::string& path) {
  AdapterFiles f;
  std::string run_dir;
  if (fs::is_regular_file(path + "/adapter_config.json")) {
    f.adapter_dir = path;
  } else if (fs::is_regular_file(path + "/adapter/adapter_config.json")) {
    f.adapter_dir = path + "/adapter";
    run_dir = path;
  } else if (fs::is_regular_file(path + "/model/config.json")) {
    fail_input(path, "a full fine-tuning run has no adapter: use --model " + path + "/model");
  } else {
    fail_input(path, "no adapter: expected adapter_config.json in it or in its adapter/ directory");
  }
  f.adapter_weights = find_weight_file(f.adapter_dir, "adapter_model");
  if (f.adapter_weights.empty()) fail_input(f.adapter_dir, "no adapter_model.safetensors or adapter_model.bin");
  f.trainable_params = find_weight_file(run_dir.empty() ? f.adapter_dir : run_dir, "trainable_params");
  if (!run_dir.empty() && fs::is_regular_file(run_dir + "/train_config.json")) {
    // The trainer records the factor it trained with under "effective".
    const nlohmann::json cfg = read_json_file(run_dir + "/train_config.json");
    const nlohmann::json factor = cfg.value("effective", nlohmann::json::object()).value("rope_factor", nlohmann::json());
    if (factor.is_number()) f.rope_factor = factor.get<double>();
  }
  return f;
}

void apply_adapter(LlamaModel& model, const AdapterFiles& files) {
  const PeftLoraConfig cfg = read_peft_config(files.adapter_dir);
  const auto weights = WeightFile::open(files.adapter_weights);
  const float scale = static_cast<float>(cfg.use_rslora ? cfg.lora_alpha / std::sqrt(static_cast<double>(cfg.r))
                                                        : cfg.lora_alpha / static_cast<double>(cfg.r));
  // Every lora_A has its lora_B; the module is the name between the PEFT prefix and ".lora_A".
  const std::string prefix = peft_prefix(), a_suffix = ".lora_A.weight";
  int attached = 0;
  for (const std::string& name : weights->names()) {
    if (name.size() <= a_suffix.size() || name.compare(name.size() - a_suffix.size(), a_suffix.size(), a_suffix) != 0)
      continue;
    if (name.rfind(prefix, 0) != 0) fail_input(files.adapter_weights, "tensor '" + name + "' lacks the PEFT prefix '" + prefix + "'");
    const std::string module = name.substr(prefix.size(), name.size() - prefix.size() - a_suffix.size());
    const Tensor A = weights->get(name);
    const Tensor B = weights->get(prefix + module + ".lora_B.weight");
    if (A.shape[0] != cfg.r)
      fail_expected(files.adapter_weights, "tensor '" + name + "'", "rank r = " + std::to_string(cfg.r) + " (adapter_config.json)",
                    A.shape_str());
    model.attach_lora(module, A, B, scale, files.adapter_weights);
    ++attached;
  }
  if (attached == 0) fail_input(files.adapter_weights, "no LoRA tensors (names ending in .lora_A.weight)");
  if (!files.trainable_params.empty()) {
    const auto trained = WeightFile::open(files.trainable_params);
    for (const std::string& name : trained->names()) model.replace_weight(name, trained->get(name), files.trainable_params);
  }
}

}  // namespace ll
