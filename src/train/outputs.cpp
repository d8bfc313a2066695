#include "train/outputs.h"

#include <cmath>
#include <filesystem>
#include <list>
#include <set>

#include "core/error.h"
#include "core/mapped_file.h"
#include "formats/safetensors_writer.h"
#include "model/hf_export.h"
#include "text/gguf_vocab.h"
#include "text/sentencepiece_model.h"
#include "train/numeric_faults.h"

namespace ll {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr uint64_t kMaxShardBytes = 2'000'000'000;  // "2GB" as transformers counts it

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
  write_directory_atomically(dir, [&](const std::string& partial) {
    NamedTensors tensors;
    std::list<OwnedTensor> keep;  // host copies of device tensors
    for (const LoraAdapter* a : model.lora_adapters()) {
      tensors.emplace_back(a->name_A(), host_view(model.backend(), a->A.value, keep.emplace_back()));
      tensors.emplace_back(a->name_B(), host_view(model.backend(), a->B.value, keep.emplace_back()));
    }
    write_safetensors(partial + "/adapter_model.safetensors", tensors, {{"format", "pt"}});
    write_text_file_atomic(partial + "/adapter_config.json", peft_adapter_config(options).dump(2) + "\n");
  });
}

bool write_trainable_params(const std::string& path, const LlamaModel& model) {
  const std::set<std::string> lora = lora_names(model);
  NamedTensors tensors;
  std::list<OwnedTensor> keep;  // host copies of device tensors
  for (const NamedParam& p : model.trainable_params())
    if (!lora.count(p.name)) tensors.emplace_back(p.name, host_view(model.backend(), p.param->value, keep.emplace_back()));
  if (tensors.empty()) return false;
  write_safetensors(path, tensors, {{"format", "pt"}});
  return true;
}

void write_hf_model(const std::string& dir, const LlamaModel& model) {
  const ModelCheckpoint& base = model.checkpoint();
  HfExportOptions o;
  o.dtype = base.weight_dtype();
  o.max_shard_bytes = kMaxShardBytes;
  if (base.is_gguf())
    o.serialized_tokenizer = serialize_sentencepiece_model(load_gguf_vocab(*base.gguf()));
  else
    o.tokenizer_model = base.tokenizer_model_path();
  write_hf_model_dir(dir, model, o);
}

void write_run_outputs(const std::string& run_dir, const LlamaModel& model, const TrainOptions& options) {
  if (const auto bad = find_non_finite(model.backend(), model.store(), model.store().values()))
    fail_input(run_dir, "outputs not written: non-finite value in " + describe(*bad));
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
