// What a finished training run leaves in RUN, in the formats the ecosystem reads:
//   LoRA / LoRA+   RUN/adapter/, a self-contained PEFT adapter directory, all f32:
//                    adapter_model.safetensors  base_model.model.<module>.lora_A.weight [r, in] and
//                                  lora_B.weight [out, r]; with LoRA+ also the other trained tensors
//                                  (embeddings, norms) as PEFT saves modules_to_save:
//                                  base_model.model.<HF name>
//                    adapter_config.json  modules_to_save naming those modules by PEFT's suffix rule
//                                  (["embed_tokens", "norm"]), so that PeftModel.from_pretrained(base,
//                                  RUN/adapter) alone restores them
//                    trainable_params.bin  the same trained tensors under their HF names, as
//                                  LongLoRA's get_trainable_weights.py saves them with torch.save
//                                  (its eval.py and merge script torch.load it from the adapter dir)
//   --full         RUN/model/  an HF model directory (model/hf_export.h): config.json with the rope
//                  scaling trained at, every weight in the dtype of the base's projections (sharded
//                  above 2 GB), and the tokenizer (the base's tokenizer.model when it has one, or a
//                  GGUF base's vocabulary serialised as one)
// Directories are written under a temporary name and renamed into place. Nothing is written when a
// trained tensor holds a NaN or Inf (InputError naming it).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/llama_model.h"
#include "train/train_options.h"

namespace ll {

// adapter_config.json's contents; `modules_to_save` empty writes null (plain LoRA).
nlohmann::json peft_adapter_config(const TrainOptions& options, const std::vector<std::string>& modules_to_save);

// The adapter directory above (trainable_params.bin only when something besides LoRA was trained).
void write_peft_adapter(const std::string& dir, const LlamaModel& model, const TrainOptions& options);
void write_hf_model(const std::string& dir, const LlamaModel& model);

// The outputs above that fit the run: RUN/model with --full, else RUN/adapter.
void write_run_outputs(const std::string& run_dir, const LlamaModel& model, const TrainOptions& options);
// An upper bound of the bytes write_run_outputs will write (the disk check before training).
uint64_t run_outputs_bytes(const LlamaModel& model, const TrainOptions& options);

}  // namespace ll
