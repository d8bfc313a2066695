// longlora export: a trained run for llama.cpp — its LoRA adapter as a GGUF adapter (--gguf), or
// the merged model as a GGUF model (--merged-gguf), which also carries LongLoRA's trained
// embeddings and norms that an adapter cannot.
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "cli/export_common.h"
#include "cli/model_flags.h"
#include "formats/peft.h"
#include "model/adapter.h"
#include "model/gguf_export.h"

namespace ll::cli {

int run_export(int argc, char** argv) {
  Args args("export", "Export a trained run for llama.cpp: a GGUF LoRA adapter and/or a merged GGUF model.");
  args.option("--adapter", "", "the trained run (longlora train --out) or PEFT adapter directory", "DIR")
      .option("--model", "", "the base model (default: the adapter's base_model_name_or_path)", "PATH")
      .option("--gguf", "", "write the LoRA adapter as a llama.cpp adapter GGUF", "FILE")
      .option("--merged-gguf", "", "write base + run merged as a llama.cpp model GGUF", "FILE")
      .option("--out-dtype", "", "f32|f16|bf16 (default: f32 for the adapter, the base's dtype for the model)", "T")
      .option("--rope-factor", "0", "linear RoPE factor to record (default: the run's)", "F")
      .option("--threads", "0", "worker threads (0 = all cores)", "N");
  if (!args.parse(argc, argv)) return 0;
  apply_thread_flag(args);
  const AdapterFiles files = locate_adapter(args.required("--adapter"));
  if (!args.has("--gguf") && !args.has("--merged-gguf")) fail_input("longlora export", "give --gguf FILE and/or --merged-gguf FILE");
  const PeftLoraConfig peft = read_peft_config(files.adapter_dir);
  auto model = open_merged_model(args, /*merge=*/false);
  if (args.has("--gguf")) {
    const DType dtype = args.has("--out-dtype") ? parse_weight_dtype(args.str("--out-dtype")) : DType::F32;
    const double alpha = write_gguf_lora_adapter(args.str("--gguf"), *model, dtype);
    std::fprintf(stderr, "wrote llama.cpp adapter %s (%zu LoRA pairs, alpha %g%s)\n", args.str("--gguf").c_str(),
                 model->lora_adapters().size(), alpha, peft.use_rslora ? ": lora_alpha·√r for rsLoRA" : "");
    if (!files.trainable_params.empty())
      std::fprintf(stderr,
                   "note: %s holds trained embeddings/norms, which a llama.cpp adapter cannot carry; use --merged-gguf "
                   "for the full LongLoRA model\n",
                   files.trainable_params.c_str());
  }
  if (args.has("--merged-gguf")) {
    model->merge_adapters();
    const DType dtype = args.has("--out-dtype") ? parse_weight_dtype(args.str("--out-dtype")) : model->checkpoint().weight_dtype();
    const std::string path = args.str("--merged-gguf");
    write_gguf_model(path, *model, vocab_of(model->checkpoint()), dtype,
                     std::filesystem::path(path).stem().string());
    std::fprintf(stderr, "wrote llama.cpp model %s (%s, rope factor %g)\n", path.c_str(), dtype_name(dtype),
                 model->config().rope_factor);
  }
  return 0;
}

}  // namespace ll::cli
