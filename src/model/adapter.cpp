#include "model/adapter.h"

#include <cmath>
#include <filesystem>
#include <optional>
#include <set>

#include "formats/json_file.h"
#include "formats/llama_tensors.h"
#include "formats/peft.h"
#include "formats/tensor_store.h"

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
  f.trainable_params = find_weight_file(f.adapter_dir, "trainable_params");
  if (f.trainable_params.empty() && !run_dir.empty())
    f.trainable_params = find_weight_file(run_dir, "trainable_params");
  if (!run_dir.empty() && fs::is_regular_file(run_dir + "/train_config.json")) {
    // The trainer records the factor it trained with under "effective".
    const nlohmann::json cfg = read_json_file(run_dir + "/train_config.json");
    const nlohmann::json factor =
        cfg.value("effective", nlohmann::json::object()).value("rope_factor", nlohmann::json());
    if (factor.is_number()) f.rope_factor = factor.get<double>();
  }
  return f;
}

namespace {

// Every module of the model that modules_to_save selects must have its weight in one of the files.
void check_modules_to_save(const LlamaModel& model, const PeftLoraConfig& cfg, const std::set<std::string>& held,
                           const AdapterFiles& files) {
  if (cfg.modules_to_save.empty()) return;
  for (const ExpectedTensor& t : llama_expected_tensors(model.config())) {
    const std::string module = t.name.substr(0, t.name.rfind('.'));
    if (!peft_selects(cfg.modules_to_save, module) || held.count(t.name)) continue;
    fail_input(files.adapter_dir + "/adapter_config.json",
               "modules_to_save " + nlohmann::json(cfg.modules_to_save).dump() + " says '" + module +
                   "' was trained, but neither " + fs::path(files.adapter_weights).filename().string() + " (as '" +
                   peft_prefix() + t.name + "') nor a trainable_params file (as '" + t.name + "') holds its weight");
  }
}

}  // namespace

void apply_adapter(LlamaModel& model, const AdapterFiles& files) {
  const PeftLoraConfig cfg = read_peft_config(files.adapter_dir);
  const TensorStore weights = TensorStore::open_file(files.adapter_weights);
  const std::optional<TensorStore> trainable =
      files.trainable_params.empty() ? std::nullopt : std::optional(TensorStore::open_file(files.trainable_params));
  const float scale = static_cast<float>(cfg.use_rslora ? cfg.lora_alpha / std::sqrt(static_cast<double>(cfg.r))
                                                        : cfg.lora_alpha / static_cast<double>(cfg.r));
  // adapter_model: LoRA pairs "<prefix><module>.lora_A.weight" + ".lora_B.weight", and PEFT's copies
  // of fully trained weights "<prefix><HF name>".
  const std::string prefix = peft_prefix(), a_suffix = ".lora_A.weight", b_suffix = ".lora_B.weight";
  std::vector<std::string> lora_modules, peft_trained;
  for (const std::string& name : weights.names()) {
    if (name.rfind(prefix, 0) != 0)
      fail_input(files.adapter_weights, "tensor '" + name + "' lacks the PEFT prefix '" + prefix + "'");
    const std::string inner = name.substr(prefix.size());
    if (inner.ends_with(a_suffix))
      lora_modules.push_back(inner.substr(0, inner.size() - a_suffix.size()));
    else if (inner.find("lora_") != std::string::npos && !inner.ends_with(b_suffix))
      fail_input(files.adapter_weights,
                 "tensor '" + name + "': only LoRA pairs (lora_A.weight, lora_B.weight) can be applied");
    else if (!inner.ends_with(b_suffix))
      peft_trained.push_back(inner);
  }
  if (lora_modules.empty()) fail_input(files.adapter_weights, "no LoRA tensors (names ending in .lora_A.weight)");
  std::set<std::string> held(peft_trained.begin(), peft_trained.end());
  const std::vector<std::string> trainable_names = trainable ? trainable->names() : std::vector<std::string>{};
  held.insert(trainable_names.begin(), trainable_names.end());
  check_modules_to_save(model, cfg, held, files);

  // As LongLoRA's scripts: trainable_params into the base, then the PEFT adapter over it.
  for (const std::string& name : trainable_names)
    model.replace_weight(name, trainable->get(name), files.trainable_params);
  for (const std::string& name : peft_trained)
    model.replace_weight(name, weights.get(prefix + name), files.adapter_weights);
  for (const std::string& module : lora_modules) {
    const Tensor A = weights.get(prefix + module + a_suffix);
    const Tensor B = weights.get(prefix + module + b_suffix);
    if (A.shape[0] != cfg.r)
      fail_expected(files.adapter_weights, "tensor '" + prefix + module + a_suffix + "'",
                    "rank r = " + std::to_string(cfg.r) + " (adapter_config.json)", A.shape_str());
    model.attach_lora(module, A, B, scale, files.adapter_weights);
  }
}

}  // namespace ll
