#include "cli/run_training.h"

#include <cstdio>
#include <filesystem>

#include "cli/args.h"
#include "cli/model_flags.h"
#include "core/error.h"
#include "core/threads.h"
#include "dist/communicator.h"
#include "train/interrupt.h"
#include "train/trainer.h"

namespace ll::cli {

namespace {

std::string absolute_path(const std::string& p) {
  return p.empty() ? p : std::filesystem::absolute(p).lexically_normal().string();
}

// The table's flags this command has (sft packs no token rows: no --token-dtype, --doc-mask).
std::vector<TrainFlag> command_flags(const TrainingCommand& command) {
  std::vector<TrainFlag> out;
  for (TrainFlag& f : train_flags())
    if (command.packing_flags || !f.packing) out.push_back(std::move(f));
  return out;
}

void declare_flags(Args& args, const TrainingCommand& command) {
  add_model_flags(args);
  args.option("--data", "", command.data_help, "PATH")
      .option("--out", "", "run directory for checkpoints, metrics and the trained adapter/model", "RUN")
      .option("--resume", "", "continue the run in RUN from its latest checkpoint (same options)", "RUN");
  for (const TrainFlag& f : command_flags(command)) {
    if (!f.declared_here) continue;
    if (f.is_switch)
      args.flag(f.flag, f.help);
    else
      args.option(f.flag, f.default_text, f.help, f.metavar);
  }
  args.option("--on-nan", "stop", "a NaN/Inf loss or gradient: stop (exit 2 naming the tensor) or skip the update", "P")
      .flag("--no-memory-check", "start even when the memory plan (longlora info) exceeds the memory available");
}

TrainOptions options_from_flags(const Args& args, const TrainingCommand& command) {
  TrainOptions o;
  o.task = command.task;
  const std::string where = "longlora " + command.task;
  for (const TrainFlag& f : command_flags(command))
    set_train_option(o, f.key, f.is_switch ? (args.enabled(f.flag) ? "true" : "false") : args.str(f.flag), where);
  o.model = absolute_path(o.model);
  o.data = absolute_path(o.data);
  return o;
}

// The options given on the command line, as the keys of train_options_to_json, and the task: a
// resumed run must be one of this command's.
nlohmann::json given_options(const Args& args, const TrainOptions& o, const TrainingCommand& command) {
  const nlohmann::json all = train_options_to_json(o);
  nlohmann::json given = nlohmann::json::object();
  for (const TrainFlag& f : command_flags(command))
    if (args.given(f.flag)) given[f.key] = all.at(f.key);
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
