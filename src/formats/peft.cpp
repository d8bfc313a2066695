#include "formats/peft.h"

#include <algorithm>
#include <filesystem>
#include <set>

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
  c.modules_to_save =
      field<std::vector<std::string>>(j, "modules_to_save", file, "a list of module names or null", {}, false);
  for (const std::string& t : c.target_modules)
    if (std::find(std::begin(kKnownTargets), std::end(kKnownTargets), t) == std::end(kKnownTargets))
      fail_expected(file, "target_modules", "LLaMA modules (q_proj k_proj v_proj o_proj gate_proj up_proj down_proj lm_head)",
                    "'" + t + "'");
  return c;
}

bool peft_selects(const std::vector<std::string>& entries, const std::string& module) {
  return std::any_of(entries.begin(), entries.end(), [&](const std::string& e) { return module.ends_with(e); });
}

std::vector<std::string> peft_modules_to_save(const std::vector<std::string>& modules,
                                              const std::vector<std::string>& trained) {
  const std::set<std::string> wanted(trained.begin(), trained.end());
  // Candidates: the suffixes at a dot of each trained name that select trained modules only.
  std::vector<std::pair<std::string, std::set<std::string>>> candidates;  // entry, what it selects
  std::set<std::string> seen;
  for (const std::string& t : trained)
    for (size_t dot = 0; dot != std::string::npos; dot = t.find('.', dot + 1)) {
      const std::string entry = dot == 0 ? t : t.substr(dot + 1);
      if (!seen.insert(entry).second) continue;
      std::set<std::string> selects;
      bool exact = true;
      for (const std::string& m : modules)
        if (m.ends_with(entry)) {
          exact = exact && wanted.count(m) != 0;
          selects.insert(m);
        }
      if (exact) candidates.emplace_back(entry, std::move(selects));
    }
  // Greedy cover: the candidate that selects the most modules not yet selected (the shorter on a tie).
  std::set<std::string> left = wanted;
  std::vector<std::pair<size_t, std::string>> chosen;  // first trained module it selects, entry
  while (!left.empty()) {
    const std::pair<std::string, std::set<std::string>>* best = nullptr;
    size_t best_gain = 0;
    for (const auto& c : candidates) {
      const size_t gain =
          std::count_if(c.second.begin(), c.second.end(), [&](const std::string& m) { return left.count(m) != 0; });
      const bool shorter_tie = best && gain == best_gain && c.first.size() < best->first.size();
      if (gain > best_gain || shorter_tie) {
        best = &c;
        best_gain = gain;
      }
    }
    LL_CHECK(best != nullptr);  // a trained module's full name always selects it
    for (const std::string& m : best->second) left.erase(m);
    size_t first = trained.size();
    for (size_t i = 0; i < trained.size() && first == trained.size(); ++i)
      if (best->second.count(trained[i])) first = i;
    chosen.emplace_back(first, best->first);
  }
  std::sort(chosen.begin(), chosen.end());
  std::vector<std::string> entries;
  for (auto& c : chosen) entries.push_back(std::move(c.second));
  return entries;
}

}  // namespace ll
