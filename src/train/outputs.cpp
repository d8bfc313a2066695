#include "train/outputs.h"

#include <cmath>
#include <filesystem>
#include <set>

#include "core/error.h"
#include "core/half.h"
#include "core/mapped_file.h"
#include "formats/llama_tensors.h"
#include "formats/safetensors_writer.h"

namespace ll {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr uint64_t kMaxShardBytes = 2'000'000'000;  // "2GB" as transformers counts it

// Writes a directory through `fill(partial)` into RUN/.partial-<name>, then renames it to `dir`
// (replacing an earlier one).
template <class Fill>
void write_dir_atomically(const std::string& dir, Fill fill) {
  const fs::path target(dir);
  const std::string partial = (target.parent_path() / (".partial-" + target.filename().string())).string();
  std::error_code ec;
  fs::remove_all(partial, ec);
  fs::create_directories(partial);
  fill(partial);
  fs::remove_all(target, ec);
  if (ec) fail_input(dir, "cannot replace: " + ec.message());
  fs::rename(partial, target, ec);
  if (ec) fail_input(dir, "cannot rename into place: " + ec.message());
}

std::set<std::string> lora_names(const LlamaModel& model) {
  std::set<std::string> names;
  for (const LoraAdapter* a : model.lora_adapters()) {
    names.insert(a->name_A());
    names.insert(a->name_B());
  }
  return names;
}

}  // namespace

json peft_adapter_config(const TrainOptions& o) {
  const double alpha = o.lora_alpha;
  return {
      {"peft_type", "LORA"},
      {"task_type", "CAUSAL_LM"},
      {"base_model_name_or_path", o.model},
      {"r", o.lora_r},
      // PEFT writes lora_alpha as the int it usually is.
      {"lora_alpha", alpha == std::floor(alpha) ? json(static_cast<int64_t>(alpha)) : json(alpha)},
      {"lora_dropout", o.lora_dropout},
      {"target_modules", o.lora_targets},
      {"use_rslora", o.rslora},
      {"bias", "none"},
      {"fan_in_fan_out", false},
      {"inference_mode", true},
      {"init_lora_weights", true},
      {"modules_to_save", nullptr},
      {"layers_to_transform", nullptr},
      {"layers_pattern", nullptr},
      {"rank_pattern", json::object()},
      {"alpha_pattern", json::object()},
      {"revision", nullptr},
  };
}

void write_peft_adapter(const std::string& dir, const LlamaModel& model, const TrainOptions& options) {
  write_dir_atomically(dir, [&](const std::string& partial) {
    NamedTensors tensors;
    for (const LoraAdapter* a : model.lora_adapters()) {
      tensors.emplace_back(a->name_A(), a->A.value.view());
      tensors.emplace_back(a->name_B(), a->B.value.view());
    }
    write_safetensors(partial + "/adapter_model.safetensors", tensors, {{"format", "pt"}});
    write_text_file_atomic(partial + "/adapter_config.json", peft_adapter_config(options).dump(2) + "\n");
  });
}

bool write_trainable_params(const std::string& path, const LlamaModel& model) {
  const std::set<std::string> lora = lora_names(model);
  NamedTensors tensors;
  for (const NamedParam& p : model.trainable_params())
    if (!lora.count(p.name)) tensors.emplace_back(p.name, p.param->value.view());
  if (tensors.empty()) return false;
  write_safetensors(path, tensors, {{"format", "pt"}});
  return true;
}

void write_hf_model(const std::string& dir, const LlamaModel& model) {
  const ModelCheckpoint& base = model.checkpoint();
  std::map<std::string, const Param*> trained;
  for (const NamedParam& p : model.trainable_params()) trained[p.name] = p.param;

  // Trained weights go back to the dtype the base stores them in; the rest are copied as stored.
  std::vector<OwnedTensor> converted;
  NamedTensors tensors;
  for (const ExpectedTensor& e : llama_expected_tensors(model.config())) {
    const Tensor stored = base.tensor(e.name);
    auto it = trained.find(e.name);
    if (it == trained.end()) {
      LL_CHECK(stored.is_contiguous());
      tensors.emplace_back(e.name, stored);
      continue;
    }
    const Tensor& master = it->second->value.view();
    if (stored.dtype == DType::F32) {
      tensors.emplace_back(e.name, master);
    } else {
      converted.emplace_back(stored.dtype, master.shape, master.ndim);
      from_f32(converted.back().data(), stored.dtype, master.template as<float>(), master.numel());
      tensors.emplace_back(e.name, converted.back().view());
    }
  }
  write_dir_atomically(dir, [&](const std::string& partial) {
    write_safetensors_sharded(partial, "model", tensors, kMaxShardBytes, {{"format", "pt"}});
    write_text_file_atomic(partial + "/config.json", to_hf_config_json(model.config()).dump(2) + "\n");
    const std::string tokenizer = base.tokenizer_model_path();
    if (!tokenizer.empty()) fs::copy_file(tokenizer, partial + "/tokenizer.model");
  });
}

void write_run_outputs(const std::string& run_dir, const LlamaModel& model, const TrainOptions& options) {
  if (options.full) {
    write_hf_model(run_dir + "/model", model);
    return;
  }
  write_peft_adapter(run_dir + "/adapter", model, options);
  if (!write_trainable_params(run_dir + "/trainable_params.safetensors", model)) {
    std::error_code ec;
    fs::remove(run_dir + "/trainable_params.safetensors", ec);  // a stale one would be applied too
  }
}

}  // namespace ll
