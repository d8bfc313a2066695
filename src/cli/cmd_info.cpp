// longlora info: what a checkpoint is and what running it at a context costs.
#include <cstdio>

#include "cli/commands.h"
#include "cli/model_flags.h"
#include "core/threads.h"
#include "model/memory_plan.h"
#include "model/position_interpolation.h"

namespace ll::cli {

namespace {

void print_plan(const char* title, const MemoryPlan& plan) {
  std::printf("%s: %s\n", title, format_bytes(plan.total()).c_str());
  for (const auto& [what, bytes] : plan.parts) std::printf("  %-46s %s\n", what.c_str(), format_bytes(bytes).c_str());
}

}  // namespace

int run_info(int argc, char** argv) {
  Args args("info", "Architecture, parameter count, dtype, rope scaling and the memory plan for a context.");
  add_model_flags(args);
  if (!args.parse(argc, argv)) return 0;
  apply_thread_flag(args);
  const auto checkpoint = ModelCheckpoint::open(args.required("--model"));
  const LlamaConfig& c = checkpoint->config();
  const DType wdtype = checkpoint->weight_dtype();
  const int64_t context = args.integer("--context") > 0 ? args.integer("--context") : c.max_position_embeddings;
  const double factor = args.number("--rope-factor") > 0 ? args.number("--rope-factor") : interpolation_factor(c, context);

  std::printf("model:            %s (%s)\n", checkpoint->path().c_str(), checkpoint->is_gguf() ? "GGUF" : "HF directory");
  std::printf("architecture:     LLaMA, %lld layers, hidden %lld, FFN %lld, vocab %lld\n",
              static_cast<long long>(c.num_layers), static_cast<long long>(c.hidden_size),
              static_cast<long long>(c.intermediate_size), static_cast<long long>(c.vocab_size));
  std::printf("attention:        %lld heads of dim %lld, %lld KV heads%s\n", static_cast<long long>(c.num_heads),
              static_cast<long long>(c.head_dim), static_cast<long long>(c.num_kv_heads),
              c.num_kv_heads < c.num_heads ? " (GQA)" : "");
  std::printf("parameters:       %lld (%.2fM)%s\n", static_cast<long long>(parameter_count(c)),
              static_cast<double>(parameter_count(c)) / 1e6, c.tie_word_embeddings ? ", tied embeddings" : "");
  std::printf("weights dtype:    %s\n", dtype_name(wdtype));
  std::printf("rope:             theta %g, trained context %lld, linear factor %g in the checkpoint\n", c.rope_theta,
              static_cast<long long>(c.max_position_embeddings), c.rope_factor);
  std::printf("at context %lld:  rope factor %g (position interpolation%s)\n", static_cast<long long>(context), factor,
              factor == c.rope_factor ? " unchanged" : ", as LongLoRA computes it");
  const Precision infer = args.has("--dtype") ? parse_precision(args.str("--dtype")) : default_precision(wdtype, false);
  const Precision train = args.has("--dtype") ? parse_precision(args.str("--dtype")) : default_precision(wdtype, true);
  std::printf("GEMM engine:      oneDNN, bf16 %s on this CPU\n", native_bf16_gemm() ? "native" : "emulated in f32");
  std::printf("\n");
  print_plan(("inference at " + std::to_string(context) + " tokens (" + precision_name(infer) + ")").c_str(),
             plan_inference(c, wdtype, infer, context, num_threads()));
  print_plan(("LongLoRA training at " + std::to_string(context) + " tokens (" + precision_name(train) +
              ", LoRA r=8 + embed/norm, batch 1, checkpointing)").c_str(),
             plan_training(c, wdtype, train, context, num_threads()));
  return 0;
}

}  // namespace ll::cli
