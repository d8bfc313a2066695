#include "train/outputs.h"

#include <cmath>
#include <filesystem>
#include <list>
#include <set>

#include "core/error.h"
#include "core/mapped_file.h"
#include "formats/llama_tensors.h"
#include "formats/peft.h"
#include "formats/safetensors_writer.h"
#include "formats/torch_bin_writer.h"
#include "model/hf_export.h"
#include "text/gguf_vocab.h"
#include "text/sentencepiece_model.h"
#include "train/numeric_faults.h"

namespace ll {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr uint64_t kMaxShardBytes = 2'000'000'000;  // "2GB" as transformers counts it

// What the adapter directory holds: LoRA pairs, and the other trained tensors (embed, norms).
struct AdapterTensors {
  NamedTensors lora;     // PEFT names
  NamedTensors trained;  // HF names
  std::list<OwnedTensor> host_copies;  // of tensors on a device: what the views above point into
};

AdapterTensors adapter_tensors(const LlamaModel& model) {
  AdapterTensors t;
  auto on_host = [&](const Tensor& v) { return host_view(model.backend(), v, t.host_copies.emplace_back()); };
  std::set<std::string> lora;
  for (const LoraAdapter* a : model.lora_adapters()) {
    t.lora.emplace_back(a->name_A(), on_host(a->A.value));
    t.lora.emplace_back(a->name_B(), on_host(a->B.value));
    lora.insert(a->name_A());
    lora.insert(a->name_B());
  }
  for (const NamedParam& p : model.trainable_params())
    if (!lora.count(p.name)) t.trained.emplace_back(p.name, on_host(p.param->value));
  return t;
}

// "model.layers.0.input_layernorm.weight" -> "model.layers.0.input_layernorm"
std::string module_of(const std::string& tensor_name) { return tensor_name.substr(0, tensor_name.rfind('.')); }

// modules_to_save for the trained tensors: PEFT's suffix entries that select exactly their modules.
std::vector<std::string> modules_to_save(const LlamaModel& model, const NamedTensors& trained) {
  if (trained.empty()) return {};
  std::vector<std::string> modules, trained_modules;
  for (const ExpectedTensor& t : llama_expected_tensors(model.config())) modules.push_back(module_of(t.name));
  for (const auto& [name, value] : trained) trained_modules.push_back(module_of(name));
  return peft_modules_to_save(modules, trained_modules);
}

}  // namespace

json peft_adapter_config(const TrainOptions& o, const std::vector<std::string>& modules_to_save) {
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
      {"modules_to_save", modules_to_save.empty() ? json(nullptr) : json(modules_to_save)},
      {"layers_to_transform", nullptr},
      {"layers_pattern", nullptr},
      {"rank_pattern", json::object()},
      {"alpha_pattern", json::object()},
      {"revision", nullptr},
  };
}

void write_peft_adapter(const std::string& dir, const LlamaModel& model, const TrainOptions& options) {
  const AdapterTensors t = adapter_tensors(model);
  NamedTensors peft = t.lora;
  for (const auto& [name, value] : t.trained) peft.emplace_back(peft_prefix() + name, value);
  write_directory_atomically(dir, [&](const std::string& partial) {
    write_safetensors(partial + "/adapter_model.safetensors", peft, {{"format", "pt"}});
    if (!t.trained.empty()) write_torch_bin(partial + "/trainable_params.bin", t.trained);
    const json config = peft_adapter_config(options, modules_to_save(model, t.trained));
    write_text_file_atomic(partial + "/adapter_config.json", config.dump(2) + "\n");
  });
}

void write_hf_model(const std::string& dir, const LlamaModel& model) {
  const ModelFiles& base = model.files();
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
  // Where longlora wrote the trained embed/norm before the adapter directory held them: an old
  // run's file would be applied together with the new adapter (model/adapter.h).
  std::error_code ec;
  fs::remove(run_dir + "/trainable_params.safetensors", ec);
}

uint64_t run_outputs_bytes(const LlamaModel& model, const TrainOptions& options) {
  constexpr uint64_t kFiles = 64 * 1024, kPerTensor = 512;  // configs; headers, pickle, alignment
  if (options.full)
    return kFiles +
           static_cast<uint64_t>(parameter_count(model.config())) * dtype_size(model.files().weight_dtype()) +
           16 * 1024 * 1024;  // tokenizer
  const AdapterTensors t = adapter_tensors(model);
  uint64_t bytes = kFiles;
  for (const auto& [name, value] : t.lora) bytes += value.nbytes() + name.size() + kPerTensor;
  for (const auto& [name, value] : t.trained) bytes += 2 * (value.nbytes() + name.size() + kPerTensor);  // both forms
  return bytes;
}

}  // namespace ll
