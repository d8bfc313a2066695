#include "cli/run_training.h"

#include <cstdio>
#include <filesystem>

#include "cli/args.h"
#include "cli/model_flags.h"
#include "core/error.h"
#include "core/threads.h"
#include "dist/communicator.h"
#include "formats/token_file.h"
#include "train/interrupt.h"
#include "train/trainer.h"

namespace ll::cli {

namespace {

std::string absolute_path(const std::string& p) {
  return p.empty() ? p : std::filesystem::absolute(p).lexically_normal().string();
}

// The flags --token-dtype and --doc-mask, as keys of train_options_to_json.
bool is_packing_flag(const std::string& key) { return key == "token-dtype" || key == "doc-mask"; }

void declare_flags(Args& args, const TrainingCommand& command) {
  const TrainOptions d;
  add_model_flags(args);
  args.option("--data", "", command.data_help, "PATH")
      .option("--out", "", "run directory for checkpoints, metrics and the trained adapter/model", "RUN")
      .option("--resume", "", "continue the run in RUN from its latest checkpoint (same options)", "RUN");
  if (command.packing_flags)
    args.option("--token-dtype", d.token_dtype, "token files hold u16 or u32 ids", "T")
        .flag("--doc-mask", "packed documents do not attend to each other");
  args.flag("--full", "train every weight (no LoRA); writes an HF model directory")
      .option("--trainable", "embed,norm", "also train weights whose name contains one of these (\"\" = plain LoRA)", "LIST")
      .option("--lora-r", std::to_string(d.lora_r), "LoRA rank", "R")
      .option("--lora-alpha", "16", "LoRA alpha (scale alpha/r)", "A")
      .option("--lora-dropout", "0", "LoRA dropout probability", "P")
      .option("--lora-targets", "q_proj,k_proj,v_proj,o_proj", "modules that get LoRA adapters", "LIST")
      .flag("--rslora", "scale LoRA by alpha/sqrt(r)")
      .option("--max-steps", std::to_string(d.max_steps), "optimizer updates", "N")
      .option("--lr", "2e-5", "peak learning rate", "LR")
      .option("--warmup-steps", std::to_string(d.warmup_steps), "linear warm-up updates", "N")
      .option("--lr-scheduler", "constant_with_warmup", "constant_with_warmup, linear or cosine", "S")
      .option("--weight-decay", "0", "AdamW weight decay (not on norm weights, as HF Trainer)", "WD")
      .option("--adam-beta1", "0.9", "AdamW beta1", "B")
      .option("--adam-beta2", "0.999", "AdamW beta2", "B")
      .option("--adam-epsilon", "1e-8", "AdamW epsilon", "E")
      .option("--batch-size", std::to_string(d.batch_size), "rows per micro-batch", "N")
      .option("--grad-accum", std::to_string(d.grad_accum), "micro-batches per update", "N")
      .option("--max-grad-norm", "1.0", "clip the global gradient norm to this (0 = no clipping)", "X")
      .option("--seed", std::to_string(d.seed), "seed of LoRA init, data order and dropout", "S")
      .flag("--full-attn", "full causal attention instead of S2-Attn")
      .option("--s2-ratio", "0.25", "S2-Attn group size as a fraction of the row length", "R")
      .option("--s2-group", "0", "explicit S2-Attn group size (0 = from --s2-ratio)", "G")
      .option("--s2-variant", d.s2_variant, "flash (LongLoRA's released models) or roll (the paper's Algorithm 1)", "V")
      .flag("--no-checkpointing", "keep every layer's activations instead of recomputing them")
      .option("--save-steps", std::to_string(d.save_steps), "checkpoint every N updates (and after the last)", "N")
      .option("--keep-checkpoints", std::to_string(d.keep_checkpoints), "checkpoints kept", "N")
      .option("--on-nan", "stop", "a NaN/Inf loss or gradient: stop (exit 2 naming the tensor) or skip the update", "P")
      .flag("--no-memory-check", "start even when the memory plan (longlora info) exceeds the memory available");
}

TrainOptions options_from_flags(const Args& args, const TrainingCommand& command) {
  TrainOptions o;
  o.task = command.task;
  auto count = [&](const char* flag) {
    return static_cast<int64_t>(args.integer(flag));
  };
  o.model = absolute_path(args.str("--model"));
  o.data = absolute_path(args.str("--data"));
  o.context = count("--context");
  o.rope_factor = args.number("--rope-factor");
  o.dtype = args.str("--dtype");
  if (command.packing_flags) {
    o.token_dtype = token_dtype_name(parse_token_dtype(args.str("--token-dtype"), "--token-dtype"));
    o.doc_mask = args.enabled("--doc-mask");
  }
  o.full = args.enabled("--full");
  o.trainable = args.string_list("--trainable");
  o.lora_r = count("--lora-r");
  o.lora_alpha = args.number("--lora-alpha");
  o.lora_dropout = args.number("--lora-dropout");
  o.lora_targets = args.string_list("--lora-targets");
  o.rslora = args.enabled("--rslora");
  o.max_steps = count("--max-steps");
  o.lr = args.number("--lr");
  o.warmup_steps = count("--warmup-steps");
  o.lr_scheduler = parse_lr_schedule(args.str("--lr-scheduler"));
  o.weight_decay = args.number("--weight-decay");
  o.adam_beta1 = args.number("--adam-beta1");
  o.adam_beta2 = args.number("--adam-beta2");
  o.adam_epsilon = args.number("--adam-epsilon");
  o.batch_size = count("--batch-size");
  o.grad_accum = count("--grad-accum");
  o.max_grad_norm = args.number("--max-grad-norm");
  const int64_t seed = count("--seed");
  if (seed < 0) fail_expected("longlora " + o.task, "--seed", "an integer ≥ 0", std::to_string(seed));
  o.seed = static_cast<uint64_t>(seed);
  o.full_attn = args.enabled("--full-attn");
  o.s2_ratio = args.number("--s2-ratio");
  o.s2_group = count("--s2-group");
  o.s2_variant = args.str("--s2-variant");
  o.checkpointing = !args.enabled("--no-checkpointing");
  o.save_steps = count("--save-steps");
  o.keep_checkpoints = count("--keep-checkpoints");
  o.threads = count("--threads");
  return o;
}

// The options given on the command line, as the keys of train_options_to_json, and the task: a
// resumed run must be one of this command's.
nlohmann::json given_options(const Args& args, const TrainOptions& o, const TrainingCommand& command) {
  const nlohmann::json all = train_options_to_json(o);
  nlohmann::json given = nlohmann::json::object();
  for (const auto& [key, value] : all.items()) {
    if (key == "task" || (is_packing_flag(key) && !command.packing_flags)) continue;
    if (args.given("--" + key)) given[key] = value;
  }
  given["task"] = command.task;
  return given;
}

void print_settings(const Trainer& trainer, const std::string& run_dir, bool resumed) {
  const nlohmann::json config = trainer.config_json();
  std::fprintf(stderr, "longlora %s: %s %s\n", trainer.options().task.c_str(),
               resumed ? "resuming the run in" : "new run in", run_dir.c_str());
  for (const auto& section : {"options", "effective"})
    for (const auto& [key, value] : config[section].items())
      std::fprintf(stderr, "  %-22s %s\n", key.c_str(),
                   value.is_string() ? value.get<std::string>().c_str() : value.dump().c_str());
}

}  // namespace

int run_training(const TrainingCommand& command, int argc, char** argv) {
  const std::string name = "longlora " + command.task;
  const bool root = world().is_root();  // over mpirun's ranks, rank 0 alone prints (train/trainer.h)
  Args args(command.task, command.summary);
  declare_flags(args, command);
  if (!args.parse(argc, argv)) return 0;

  const TrainOptions from_flags = options_from_flags(args, command);
  const bool resuming = args.has("--resume");
  std::string run_dir;
  TrainOptions options;
  if (resuming) {
    run_dir = args.str("--resume");
    if (args.has("--out") && absolute_path(args.str("--out")) != absolute_path(run_dir))
      fail_input(name, "--out " + args.str("--out") + " differs from --resume " + run_dir +
                           " (a resumed run writes into its own directory)");
    options = merge_resume_options(saved_run_options(run_dir), given_options(args, from_flags, command), run_dir);
  } else {
    run_dir = args.required("--out");
    options = from_flags;
    check_new_run_dir(run_dir);
  }
  validate_train_options(options);
  set_num_threads(static_cast<int>(options.threads));
  // Saved as a count, so that --resume on a machine with other cores uses the same split of work.
  options.threads = num_threads();

  auto model = open_training_model(options, /*check_memory=*/!args.enabled("--no-memory-check"), world());
  const DataVocabulary vocab(model->files());
  auto data = command.open_data(options, vocab);

  Trainer trainer(*model, *data, options, run_dir, world());
  trainer.set_on_nan(parse_on_nan(args.str("--on-nan"), name));
  if (root) print_settings(trainer, run_dir, resuming);
  if (resuming)
    trainer.resume();
  else
    trainer.start_new_run();
  if (resuming && root)
    std::fprintf(stderr, "%s: continuing after update %lld\n", name.c_str(), static_cast<long long>(trainer.steps_done()));
  const InterruptHandler interrupts;
  if (trainer.train() == Trainer::End::Interrupted) {
    if (root)
      std::fprintf(stderr, "%s: stopped after update %lld with a checkpoint; continue with --resume %s\n", name.c_str(),
                   static_cast<long long>(trainer.steps_done()), run_dir.c_str());
    return 0;
  }
  if (root)
    std::fprintf(stderr, "%s: done; %s in %s\n", name.c_str(), options.full ? "the model is" : "the adapter is",
                 (run_dir + (options.full ? "/model" : "/adapter")).c_str());
  return 0;
}

}  // namespace ll::cli
