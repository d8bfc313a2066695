// PEFT LoRA adapters as transformers + PEFT save them, and LongLoRA's extra trainable weights:
//   DIR/adapter_config.json         peft_type "LORA", r, lora_alpha, lora_dropout, target_modules,
//                                   modules_to_save, ...
//   DIR/adapter_model.safetensors   base_model.model.<module>.lora_A.weight [r, in] / lora_B.weight [out, r],
//   (or adapter_model.bin, a         and for each module modules_to_save selects its fully trained
//    torch.save file)                weight under base_model.model.<HF name> (PEFT 0.17's
//                                   get_peft_model_state_dict; older PEFT wrote the same names)
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
  std::vector<std::string> modules_to_save;  // empty when null or absent
  std::string base_model_name_or_path;
  nlohmann::json raw;
};

// Reads DIR/adapter_config.json (or the file itself). Not LORA, fan_in_fan_out, bias other than
// "none", missing/ill-typed fields, or an unknown target module → InputError naming file and field.
PeftLoraConfig read_peft_config(const std::string& path);

// PEFT module name of an HF module: "base_model.model." + module.
std::string peft_prefix();

// PEFT's modules_to_save rule (peft.utils.other._set_trainable): a module is wrapped, trained and
// saved when its name ends with one of `entries` as a plain string, so "norm" selects
// model.layers.N.input_layernorm and post_attention_layernorm as well as model.norm.
bool peft_selects(const std::vector<std::string>& entries, const std::string& module);

// The fewest modules_to_save entries that select exactly `trained` among `modules` (the names of
// every module of the model, `trained` among them), each the module's name or a suffix of it at a
// dot: embed_tokens and every norm trained gives ["embed_tokens", "norm"]; only layer 0's
// input_layernorm gives ["layers.0.input_layernorm"]. Entries in the order of `trained`.
std::vector<std::string> peft_modules_to_save(const std::vector<std::string>& modules,
                                              const std::vector<std::string>& trained);

}  // namespace ll
