// longlora export: a trained run for llama.cpp — its LoRA adapter as a GGUF adapter (--gguf), or
// the merged model as a GGUF model (--merged-gguf), which also carries LongLoRA's trained
// embeddings and norms and the run's RoPE factor, neither of which a llama.cpp adapter can carry
// (llama.cpp skips norm tensors in an adapter and takes rope scaling from the base model only).
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
      .flag("--lora-only",
            "with --gguf: export the LoRA pairs of a run that also trained embeddings/norms (the adapter lacks them)")
      .option("--threads", "0", "worker threads (0 = all cores)", "N");
  if (!args.parse(argc, argv)) return 0;
  apply_thread_flag(args);
  const AdapterFiles files = locate_adapter(args.required("--adapter"));
  if (!args.has("--gguf") && !args.has("--merged-gguf")) fail_input("longlora export", "give --gguf FILE and/or --merged-gguf FILE");
  const PeftLoraConfig peft = read_peft_config(files.adapter_dir);
  // Trained embeddings/norms in either form: LongLoRA's trainable_params file, PEFT's modules_to_save.
  if (args.has("--gguf") && !args.enabled("--lora-only") &&
      (!files.trainable_params.empty() || !peft.modules_to_save.empty()))
    fail_input(files.trainable_params.empty() ? files.adapter_dir + "/adapter_config.json" : files.trainable_params,
               "the run also trained embeddings/norms, which a llama.cpp adapter cannot carry: "
               "export the whole model with --merged-gguf, or add --lora-only to export the LoRA pairs alone");
  auto model = open_merged_model(args, /*merge=*/false);
  if (args.has("--gguf")) {
    const DType dtype = args.has("--out-dtype") ? parse_weight_dtype(args.str("--out-dtype")) : DType::F32;
    const double alpha = write_gguf_lora_adapter(args.str("--gguf"), *model, dtype);
    std::fprintf(stderr, "wrote llama.cpp adapter %s (%zu LoRA pairs, alpha %g%s)\n", args.str("--gguf").c_str(),
                 model->lora_adapters().size(), alpha, peft.use_rslora ? ": lora_alpha·√r for rsLoRA" : "");
    const double factor = model->config().rope_factor;
    if (factor != model->files().config().rope_factor)
      std::fprintf(stderr,
                   "note: the run's RoPE factor is %g, the base's %g; llama.cpp takes rope scaling from the base "
                   "model, so run it with --rope-scale %g (rope_freq_scale %g)\n",
                   factor, model->files().config().rope_factor, factor, 1.0 / factor);
  }
  if (args.has("--merged-gguf")) {
    model->merge_adapters();
    const DType dtype = args.has("--out-dtype") ? parse_weight_dtype(args.str("--out-dtype")) : model->files().weight_dtype();
    const std::string path = args.str("--merged-gguf");
    write_gguf_model(path, *model, vocab_of(model->files()), dtype,
                     std::filesystem::path(path).stem().string());
    std::fprintf(stderr, "wrote llama.cpp model %s (%s, rope factor %g)\n", path.c_str(), dtype_name(dtype),
                 model->config().rope_factor);
  }
  return 0;
}

}  // namespace ll::cli
