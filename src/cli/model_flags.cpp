#include "cli/model_flags.h"

#include "core/threads.h"
#include "model/adapter.h"

namespace ll::cli {

void add_model_flags(Args& args, ModelFlagSet set) {
  args.option("--model", "", "HF model directory or .gguf file", "PATH");
  if (set.adapter)
    args.option("--adapter", "", "a trained run (longlora train --out) or PEFT adapter directory, applied unmerged",
                "DIR");
  args.option("--dtype", "", "compute precision f32|bf16 (default: f32 for f32 checkpoints, else bf16)", "T");
  if (set.context) args.option("--context", "0", "context the model runs at; sets the position-interpolation factor", "N");
  args.option("--rope-factor", "0", "explicit RoPE factor (linear; a llama3-scaled model's llama3 factor)", "F")
      .option("--threads", "0", "worker threads (0 = all cores)", "N");
}

void apply_thread_flag(const Args& args) {
  const long long n = args.integer("--threads");
  if (n < 0) fail_expected("longlora", "--threads", "a count ≥ 0", std::to_string(n));
  set_num_threads(static_cast<int>(n));
}

void add_kv_cache_flag(Args& args) {
  args.option("--kv-cache", "", "KV cache dtype bf16|f16|f32 (default: bf16 at bf16 compute, f32 at f32)", "T");
}

DType kv_cache_dtype(const Args& args, Precision compute) {
  return args.has("--kv-cache") ? parse_kv_cache_dtype(args.str("--kv-cache"), "longlora")
                                : default_kv_cache_dtype(compute);
}

std::unique_ptr<LlamaModel> open_model(const Args& args, bool training, ModelFlagSet set) {
  auto files = ModelFiles::open(args.required("--model"));
  ModelOptions opts;
  opts.precision = args.has("--dtype") ? parse_precision(args.str("--dtype"))
                                       : default_precision(files->weight_dtype(), training);
  opts.context = set.context ? args.integer("--context") : 0;
  opts.rope_factor = args.number("--rope-factor");
  if (opts.context < 0) fail_expected("longlora", "--context", "a token count ≥ 0", std::to_string(opts.context));
  if (opts.rope_factor < 0) fail_expected("longlora", "--rope-factor", "a factor ≥ 1", args.str("--rope-factor"));
  AdapterFiles adapter;
  const bool with_adapter = set.adapter && args.has("--adapter");
  if (with_adapter) {
    adapter = locate_adapter(args.str("--adapter"));
    if (opts.rope_factor == 0 && opts.context == 0) opts.rope_factor = adapter.rope_factor;
  }
  auto model = std::make_unique<LlamaModel>(std::move(files), opts);
  if (with_adapter) apply_adapter(*model, adapter);
  return model;
}

}  // namespace ll::cli
