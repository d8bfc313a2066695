#include "cli/model_flags.h"

#include "core/threads.h"

namespace ll::cli {

void add_model_flags(Args& args) {
  args.option("--model", "", "HF model directory or .gguf file", "PATH")
      .option("--dtype", "", "compute precision f32|bf16 (default: f32 for f32 checkpoints, else bf16)", "T")
      .option("--context", "0", "context the model runs at; sets the position-interpolation factor", "N")
      .option("--rope-factor", "0", "explicit linear RoPE factor (overrides --context)", "F")
      .option("--threads", "0", "worker threads (0 = all cores)", "N");
}

void apply_thread_flag(const Args& args) {
  const long long n = args.integer("--threads");
  if (n < 0) fail_expected("longlora", "--threads", "a count ≥ 0", std::to_string(n));
  set_num_threads(static_cast<int>(n));
}

std::unique_ptr<LlamaModel> open_model(const Args& args, bool training) {
  auto checkpoint = ModelCheckpoint::open(args.required("--model"));
  ModelOptions opts;
  opts.precision = args.has("--dtype") ? parse_precision(args.str("--dtype"))
                                       : default_precision(checkpoint->weight_dtype(), training);
  opts.context = args.integer("--context");
  opts.rope_factor = args.number("--rope-factor");
  if (opts.context < 0) fail_expected("longlora", "--context", "a token count ≥ 0", std::to_string(opts.context));
  if (opts.rope_factor < 0) fail_expected("longlora", "--rope-factor", "a factor ≥ 1", args.str("--rope-factor"));
  return std::make_unique<LlamaModel>(std::move(checkpoint), opts);
}


}  // namespace ll::cli
