// What a finished training run leaves in RUN, in the formats the ecosystem reads:
//   LoRA / LoRA+   RUN/adapter/{adapter_config.json, adapter_model.safetensors}  (PEFT's layout:
//                  base_model.model.<module>.lora_A.weight [r, in], lora_B.weight [out, r], f32)
//                  RUN/trainable_params.safetensors  the other trained tensors (embeddings, norms)
//                  under their HF names, f32 — what LongLoRA's get_trainable_weights.py extracts
//   --full         RUN/model/  an HF model directory (model/hf_export.h): config.json with the rope
//                  scaling trained at, every weight in the dtype of the base's projections (sharded
//                  above 2 GB), and the tokenizer (the base's tokenizer.model, or a GGUF base's
//                  vocabulary serialised as one)
// Directories are written under a temporary name and renamed into place. Nothing is written when a
// trained tensor holds a NaN or Inf (InputError naming it).
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "model/llama_model.h"
#include "train/train_options.h"

namespace ll {

// adapter_config.json's contents for the model's adapters.
nlohmann::json peft_adapter_config(const TrainOptions& options);

void write_peft_adapter(const std::string& dir, const LlamaModel& model, const TrainOptions& options);
// Writes the trainable tensors that are not LoRA matrices; returns false (writing nothing) when
// there are none (plain LoRA).
bool write_trainable_params(const std::string& path, const LlamaModel& model);
void write_hf_model(const std::string& dir, const LlamaModel& model);

// The outputs above that fit the run: RUN/model with --full, else RUN/adapter (+ trainable_params).
void write_run_outputs(const std::string& run_dir, const LlamaModel& model, const TrainOptions& options);

}  // namespace ll
