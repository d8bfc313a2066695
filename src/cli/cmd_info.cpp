// longlora info: what a checkpoint is and what running it at a context costs.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "cli/model_flags.h"
#include "core/error.h"
#include "core/threads.h"
#include "model/memory_plan.h"
#include "model/position_interpolation.h"
#include "train/memory_check.h"

namespace ll::cli {

namespace {

void print_plan(const std::string& title, const MemoryPlan& plan) {
  std::printf("%s: %s\n", title.c_str(), format_bytes(plan.total()).c_str());
  for (const auto& [what, bytes] : plan.parts) std::printf("  %-46s %s\n", what.c_str(), format_bytes(bytes).c_str());
}

// --model: an HF directory or a GGUF file, or a config.json alone — the shapes are all a plan needs,
// so a model can be sized before it is downloaded (its weights' dtype is the config's torch_dtype).
std::unique_ptr<ModelFiles> open_model_or_config(const std::string& path) {
  if (std::filesystem::is_regular_file(path) && path.ends_with(".json")) {
    const LlamaConfig config = parse_hf_config(path);
    return ModelFiles::shapes_only(config, config.torch_dtype);
  }
  return ModelFiles::open(path);
}

// "24576 tokens (plan 23.91 GiB)", or why nothing fits.
std::string largest_fit(uint64_t memory, const std::function<MemoryPlan(int64_t)>& plan) {
  const int64_t n = largest_context(memory, [&](int64_t context) { return plan(context).total(); });
  if (n == 0) return "none: " + std::to_string(256) + " tokens need " + format_bytes(plan(256).total());
  return std::to_string(n) + " tokens (plan " + format_bytes(plan(n).total()) + ")";
}

}  // namespace

int run_info(int argc, char** argv) {
  Args args("info", "Architecture, parameter count, dtype, rope scaling and the memory plan for a context; "
                   "--model may be a config.json alone.");
  add_model_flags(args);
  add_kv_cache_flag(args);
  args.option("--memory", "", "also print the largest context that trains and that infers within this much memory "
                              "(24GiB, 24G, 25.7GB, bytes)", "SIZE");
  // The options of `longlora train` that change its memory, with train's defaults.
  const TrainOptions d;
  args.flag("--full", "plan training every weight (no LoRA)")
      .option("--trainable", "embed,norm", "weights trained in full besides LoRA (\"\" = plain LoRA)", "LIST")
      .option("--lora-r", std::to_string(d.lora_r), "LoRA rank", "R")
      .option("--lora-targets", "q_proj,k_proj,v_proj,o_proj", "modules that get LoRA adapters", "LIST")
      .option("--lora-dropout", "0", "LoRA dropout probability", "P")
      .option("--batch-size", std::to_string(d.batch_size), "rows per micro-batch", "N")
      .flag("--no-checkpointing", "plan keeping every layer's activations")
      .flag("--recompute-attention", "plan checkpoints of the layer inputs only (attention recomputed too)");
  if (!args.parse(argc, argv)) return 0;
  apply_thread_flag(args);
  check_recompute_attention(!args.enabled("--no-checkpointing"), args.enabled("--recompute-attention"), "longlora info");
  const std::string model_path = args.required("--model");
  const auto files = open_model_or_config(model_path);
  std::optional<uint64_t> memory;
  if (args.has("--memory") && !(memory = parse_byte_size(args.str("--memory"))))
    fail_expected("longlora info", "--memory", "a size such as 24GiB, 24G, 25.7GB or a byte count", args.str("--memory"));
  const LlamaConfig& c = files->config();
  const DType wdtype = files->weight_dtype();
  const int64_t context = args.integer("--context") > 0 ? args.integer("--context") : std::llround(model_context(c));
  const double factor = args.number("--rope-factor") > 0 ? args.number("--rope-factor") : interpolation_factor(c, context);

  std::printf("model:            %s (%s)\n", model_path.c_str(),
              !files->has_weights() ? "config.json alone: shapes only, no weights read"
              : files->is_gguf()    ? "GGUF"
                                    : "HF directory");
  std::printf("architecture:     %s (%s), %lld layers, hidden %lld, FFN %lld, vocab %lld%s\n",
              model_type_name(c.family), architecture_name(c.family), static_cast<long long>(c.num_layers),
              static_cast<long long>(c.hidden_size), static_cast<long long>(c.intermediate_size),
              static_cast<long long>(c.vocab_size),
              c.o_bias ? ", q/k/v/o biases" : c.qkv_bias ? ", q/k/v biases" : "");
  std::printf("attention:        %lld heads of dim %lld, %lld KV heads%s", static_cast<long long>(c.num_heads),
              static_cast<long long>(c.head_dim), static_cast<long long>(c.num_kv_heads),
              c.num_kv_heads < c.num_heads ? " (GQA)" : "");
  if (c.sliding_window > 0)
    std::printf(", sliding window %lld (not implemented: longer spans are refused)",
                static_cast<long long>(c.sliding_window));
  std::printf("\n");
  std::printf("parameters:       %lld (%.2fM)%s\n", static_cast<long long>(parameter_count(c)),
              static_cast<double>(parameter_count(c)) / 1e6, c.tie_word_embeddings ? ", tied embeddings" : "");
  std::printf("weights dtype:    %s\n", dtype_name(wdtype));
  if (c.llama3)
    std::printf("rope:             theta %g, context %lld, llama3 scaling factor %g (low/high freq factors %g/%g, "
                "original context %lld)\n",
                c.rope_theta, static_cast<long long>(c.max_position_embeddings), c.rope_factor,
                c.llama3->low_freq_factor, c.llama3->high_freq_factor,
                static_cast<long long>(c.llama3->original_max_position_embeddings));
  else
    std::printf("rope:             theta %g, trained context %lld, linear factor %g in the files\n", c.rope_theta,
                static_cast<long long>(c.max_position_embeddings), c.rope_factor);
  std::printf("at context %lld:  %s factor %g (position interpolation%s)\n", static_cast<long long>(context),
              c.llama3 ? "llama3" : "rope", factor,
              factor == c.rope_factor ? " unchanged" : ", as LongLoRA computes it");
  const Precision infer = args.has("--dtype") ? parse_precision(args.str("--dtype")) : default_precision(wdtype, false);
  const Precision train = args.has("--dtype") ? parse_precision(args.str("--dtype")) : default_precision(wdtype, true);
  std::printf("backend:          %s; GEMMs: %s\n", cpu_backend().name().c_str(), cpu_backend().gemm_engine().c_str());
  std::printf("\n");
  const DType kv = kv_cache_dtype(args, infer);
  const std::string infer_what = std::string(precision_name(infer)) + ", " + dtype_name(kv) + " KV cache";
  auto inference_plan = [&](int64_t n) { return plan_inference(c, wdtype, infer, n, num_threads(), kv); };
  print_plan("inference at " + std::to_string(context) + " tokens (" + infer_what + ")", inference_plan(context));
  TrainOptions o;
  o.context = context;
  o.full = args.enabled("--full");
  o.trainable = args.string_list("--trainable");
  o.lora_r = args.integer("--lora-r");
  o.lora_targets = args.string_list("--lora-targets");
  o.lora_dropout = args.number("--lora-dropout");
  o.batch_size = args.integer("--batch-size");
  o.checkpointing = !args.enabled("--no-checkpointing");
  o.recompute_attention = args.enabled("--recompute-attention");
  o.threads = num_threads();
  if (o.batch_size < 1) fail_expected("longlora info", "--batch-size", "a row count ≥ 1", std::to_string(o.batch_size));
  if (o.lora_r < 1) fail_expected("longlora info", "--lora-r", "a rank ≥ 1", std::to_string(o.lora_r));
  std::string what = o.full ? "every weight" : "LoRA r=" + std::to_string(o.lora_r);
  for (size_t i = 0; !o.full && i < o.trainable.size(); ++i) what += (i ? "," : " + ") + o.trainable[i];
  const std::string train_what = std::string(precision_name(train)) + ", " + what + ", batch " +
                                 std::to_string(o.batch_size) +
                                 (o.recompute_attention ? ", checkpointing (layer inputs only)"
                                  : o.checkpointing     ? ", checkpointing"
                                                        : "");
  auto training_plan = [&](int64_t n) {
    TrainOptions at = o;
    at.context = n;
    return plan_training_run(c, wdtype, train, at);
  };
  print_plan("training at " + std::to_string(context) + " tokens (" + train_what + ")", training_plan(context));
  if (memory) {
    // Plans grow with the context; the answers are multiples of 256 tokens.
    std::printf("\nlargest context within %s (multiples of 256 tokens):\n", format_bytes(*memory).c_str());
    std::printf("  training (%s): %s\n", train_what.c_str(), largest_fit(*memory, training_plan).c_str());
    std::printf("  inference (%s): %s\n", infer_what.c_str(), largest_fit(*memory, inference_plan).c_str());
  }
  return 0;
}

}  // namespace ll::cli
