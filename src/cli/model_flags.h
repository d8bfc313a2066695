// Flags every model-loading command shares (--model, --dtype, --threads, --context,
// --rope-factor, --adapter) and what they build.
#pragma once
#include <memory>

#include "cli/args.h"
#include "model/kv_cache.h"
#include "model/llama_model.h"
#include "text/tokenizer.h"

namespace ll::cli {

struct ModelFlagSet {
  bool context = true;   // --context N sets the position-interpolation factor (eval has its own list)
  bool adapter = false;  // --adapter RUN|DIR applies a trained run for inference
};

// Declares the shared flags on `args`.
void add_model_flags(Args& args, ModelFlagSet set = {});
// Applies --threads (call right after parse).
void apply_thread_flag(const Args& args);
// --kv-cache bf16|f16|f32: what generation's KV cache stores (model/kv_cache.h); unset = the
// default for the compute precision.
void add_kv_cache_flag(Args& args);
DType kv_cache_dtype(const Args& args, Precision compute);
// Opens --model with --dtype (default per default_precision) and the RoPE factor: --rope-factor,
// else the one --context implies, else the adapter run's, else the checkpoint's. Applies
// --adapter when given.
std::unique_ptr<LlamaModel> open_model(const Args& args, bool training, ModelFlagSet set = {});

}  // namespace ll::cli
