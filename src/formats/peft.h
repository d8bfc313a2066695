// PEFT LoRA adapters as transformers + PEFT save them, and LongLoRA's extra trainable weights:
//   DIR/adapter_config.json         peft_type "LORA", r, lora_alpha, lora_dropout, target_modules, ...
//   DIR/adapter_model.safetensors   base_model.model.<module>.lora_A.weight [r, in] / lora_B.weight [out, r]
//   (or adapter_model.bin, a torch.save file)
//   trainable_params.safetensors|.bin  HF-named embed/norm weights (LongLoRA's get_trainable_weights.py)
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ll {

struct PeftLoraConfig {
  int64_t r = 8;
  double lora_alpha = 16;
  double lora_dropout = 0;
  bool use_rslora = false;
  std::vector<std::string> target_modules;
  std::string base_model_name_or_path;
  nlohmann::json raw;
};

// Reads DIR/adapter_config.json (or the file itself). Not LORA, fan_in_fan_out, bias other than
// "none", missing/ill-typed fields, or an unknown target module → InputError naming file and field.
PeftLoraConfig read_peft_config(const std::string& path);
nlohmann::json peft_config_json(const PeftLoraConfig& config);

// PEFT module name of an HF module: "base_model.model." + module.
std::string peft_prefix();

}  // namespace ll
