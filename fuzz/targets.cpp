#include "targets.h"

namespace ll::fuzz {

const std::vector<Target>& all_targets() {
  static const std::vector<Target> targets = {
      {"safetensors", safetensors},   {"shard_index", shard_index},
      {"gguf", gguf},                 {"hf_config", hf_config},
      {"adapter_config", adapter_config}, {"pickle", pickle},
      {"torch_bin", torch_bin},       {"sft_json", sft_json},
      {"pretrain_data", pretrain_data}, {"tokenizer_model", tokenizer_model},
      {"tokenizer_json", tokenizer_json}, {"checkpoint_state", checkpoint_state},
  };
  return targets;
}

}  // namespace ll::fuzz
