// Flags every model-loading command shares (--model, --dtype, --threads, --context,
// --rope-factor) and what they build: the model and its tokenizer.
#pragma once
#include <memory>

#include "cli/args.h"
#include "model/llama_model.h"
#include "text/tokenizer.h"

namespace ll::cli {

// Declares the shared flags on `args`.
void add_model_flags(Args& args);
// Applies --threads (call right after parse).
void apply_thread_flag(const Args& args);
// Opens --model with --dtype (default per default_precision), --context, --rope-factor.
std::unique_ptr<LlamaModel> open_model(const Args& args, bool training);

}  // namespace ll::cli
