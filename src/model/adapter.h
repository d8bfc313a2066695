// A trained LongLoRA run applied to a base model for inference, unmerged: the LoRA adapter runs on
// the fly next to the frozen weights, and the trained embed/norm weights replace the base's.
//
// Accepted layouts:
//   RUN/                       longlora train's output: RUN/adapter/ (PEFT) + RUN/trainable_params.*
//                              (+ RUN/train_config.json holding the rope factor it trained with)
//   DIR/ with adapter_config.json  a PEFT adapter directory (LongLoRA publishes trainable_params.bin
//                              beside adapter_model.bin in the same directory)
#pragma once
#include <string>

#include "model/llama_model.h"

namespace ll {

struct AdapterFiles {
  std::string adapter_dir;       // holds adapter_config.json + adapter_model.{safetensors,bin}
  std::string adapter_weights;   // the adapter_model file
  std::string trainable_params;  // trainable_params.{safetensors,bin}, "" when there is none
  double rope_factor = 0;        // the factor the run trained with (0 = unknown)
};

// InputError naming `path` when it holds no adapter.
AdapterFiles locate_adapter(const std::string& path);

// Attaches the adapter and loads the trainable weights.
void apply_adapter(LlamaModel& model, const AdapterFiles& files);

}  // namespace ll
