// longlora merge: base + trained run (LoRA adapter + trainable embed/norm weights) → one HF model
// directory (merge_lora_weights_and_save_hf_model.py), with the rope scaling the run trained at.
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "cli/export_common.h"
#include "cli/model_flags.h"
#include "model/hf_export.h"

namespace ll::cli {

int run_merge(int argc, char** argv) {
  Args args("merge", "Merge a trained run into its base model and save an HF model directory.");
  args.option("--model", "", "the base model (HF directory or .gguf)", "PATH")
      .option("--adapter", "", "the trained run (longlora train --out) or PEFT adapter directory", "DIR")
      .option("--out", "", "the HF directory to write", "DIR")
      .option("--out-dtype", "", "f32|f16|bf16 (default: the base's weight dtype)", "T")
      .option("--max-shard-size", "5000000000", "bytes per safetensors shard", "N")
      .option("--rope-factor", "0", "linear RoPE factor to record (default: the run's)", "F")
      .option("--threads", "0", "worker threads (0 = all cores)", "N");
  if (!args.parse(argc, argv)) return 0;
  apply_thread_flag(args);
  const std::string out = args.required("--out");
  args.required("--adapter");
  auto model = open_merged_model(args);
  HfExportOptions o;
  o.dtype = args.has("--out-dtype") ? parse_weight_dtype(args.str("--out-dtype")) : model->files().weight_dtype();
  o.max_shard_bytes = static_cast<uint64_t>(std::max<long long>(1, args.integer("--max-shard-size")));
  if (model->files().is_gguf()) o.serialized_tokenizer = serialized_tokenizer_of(model->files());
  else o.tokenizer_model = model->files().tokenizer_model_path();
  write_hf_model_dir(out, *model, o);
  std::fprintf(stderr, "merged %s + %s -> %s (%s, rope factor %g, vocab %lld)\n", args.str("--model").c_str(),
               args.str("--adapter").c_str(), out.c_str(), dtype_name(o.dtype), model->config().rope_factor,
               static_cast<long long>(model->config().vocab_size));
  return 0;
}

}  // namespace ll::cli
