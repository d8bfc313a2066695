// A trained LongLoRA run applied to a base model for inference, unmerged: the LoRA adapter runs on
// the fly next to the frozen weights, and the trained embed/norm weights replace the base's.
//
// Accepted layouts (`path` is the adapter directory or a run directory holding adapter/):
//   DIR/adapter_config.json + adapter_model.{safetensors,bin}   a PEFT adapter directory; the trained
//       embed/norm weights in either or both of
//         adapter_model.*          PEFT's form: base_model.model.<HF name>, what PEFT saves for
//                                  modules_to_save (longlora train writes this)
//         DIR/trainable_params.{safetensors,bin}  LongLoRA's form: HF names (longlora train writes
//                                  the .bin; LongLoRA publishes its adapters so)
//   RUN/adapter/ + RUN/trainable_params.*   the layout of runs by earlier longlora versions
//   RUN/train_config.json       the rope factor the run trained with ("effective"), when present
// Weights are applied as LongLoRA's scripts + PEFT do: trainable_params first, then adapter_model's
// (PEFT's modules_to_save copies win). An adapter_config.json whose modules_to_save selects a
// module of the model (PEFT's suffix rule, formats/peft.h) that neither file holds is an
// InputError naming the module, not a silent fallback to the base's weight.
#pragma once
#include <string>

#include "model/llama_model.h"

namespace ll {

struct AdapterFiles {
  std::string adapter_dir;       // holds adapter_config.json + adapter_model.{safetensors,bin}
  std::string adapter_weights;   // the adapter_model file
  std::string trainable_params;  // LongLoRA's trainable_params.{safetensors,bin}, "" when there is none
  double rope_factor = 0;        // the factor the run trained with (0 = unknown)
};

// InputError naming `path` when it holds no adapter.
AdapterFiles locate_adapter(const std::string& path);

// Attaches the adapter and loads the trained weights.
void apply_adapter(LlamaModel& model, const AdapterFiles& files);

}  // namespace ll
