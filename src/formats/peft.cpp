#include "formats/peft.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "formats/json_file.h"

namespace ll {

namespace {

const char* const kKnownTargets[] = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head"};

template <class T>
T field(const nlohmann::json& j, const char* name, const std::string& where, const char* expected, const T& fallback,
        bool required) {
  if (!j.contains(name) || j[name].is_null()) {
    if (required) fail_expected(where, name, expected, "nothing");
    return fallback;
  }
  try {
    return j[name].get<T>();
  } catch (const nlohmann::json::exception&) {
    fail_expected(where, name, expected, j[name].dump());
  }
}

}  // namespace

std::string peft_prefix() { return "base_model.model."; }

PeftLoraConfig read_peft_config(const std::string& path) {
  const std::string file = std::filesystem::is_directory(path) ? path + "/adapter_config.json" : path;
  const nlohmann::json j = read_json_file(file);
  if (!j.is_object()) fail_expected(file, "top level", "a JSON object", j.type_name());
  const std::string type = field<std::string>(j, "peft_type", file, "a string", "", true);
  if (type != "LORA") fail_expected(file, "peft_type", "\"LORA\"", "\"" + type + "\"");
  PeftLoraConfig c;
  c.raw = j;
  c.r = field<int64_t>(j, "r", file, "a positive integer", 8, true);
  if (c.r <= 0) fail_expected(file, "r", "a positive integer", std::to_string(c.r));
  c.lora_alpha = field<double>(j, "lora_alpha", file, "a number", 8.0, true);
  c.lora_dropout = field<double>(j, "lora_dropout", file, "a number", 0.0, false);
  c.use_rslora = field<bool>(j, "use_rslora", file, "true or false", false, false);
  c.base_model_name_or_path = field<std::string>(j, "base_model_name_or_path", file, "a string", "", false);
  if (field<bool>(j, "fan_in_fan_out", file, "true or false", false, false))
    fail_expected(file, "fan_in_fan_out", "false (LLaMA projections are nn.Linear)", "true");
  const std::string bias = field<std::string>(j, "bias", file, "a string", "none", false);
  if (bias != "none") fail_expected(file, "bias", "\"none\"", "\"" + bias + "\"");
  if (j.contains("target_modules") && j["target_modules"].is_string()) {
    fail_expected(file, "target_modules", "a list of module names", "a regular expression string");
  }
  c.target_modules = field<std::vector<std::string>>(j, "target_modules", file, "a list of module names", {}, true);
  if (c.target_modules.empty()) fail_expected(file, "target_modules", "at least one module", "an empty list");
  for (const std::string& t : c.target_modules)
    if (std::find(std::begin(kKnownTargets), std::end(kKnownTargets), t) == std::end(kKnownTargets))
      fail_expected(file, "target_modules", "LLaMA modules (q_proj k_proj v_proj o_proj gate_proj up_proj down_proj lm_head)",
                    "'" + t + "'");
  return c;
}

nlohmann::json peft_config_json(const PeftLoraConfig& c) {
  nlohmann::json j = c.raw.is_object() ? c.raw : nlohmann::json::object();
  j["peft_type"] = "LORA";
  j["task_type"] = "CAUSAL_LM";
  j["r"] = c.r;
  j["lora_alpha"] = c.lora_alpha;
  j["lora_dropout"] = c.lora_dropout;
  j["use_rslora"] = c.use_rslora;
  j["target_modules"] = c.target_modules;
  j["base_model_name_or_path"] = c.base_model_name_or_path;
  j["bias"] = "none";
  j["fan_in_fan_out"] = false;
  j["inference_mode"] = true;
  j["init_lora_weights"] = true;
  j["modules_to_save"] = nullptr;
  return j;
}

}  // namespace ll
