// What `longlora train` and `longlora sft` share: their flags, the options of a new or resumed run,
// the model, the Trainer and its end. The two commands differ only in their data source, which
// each describes with a TrainingCommand (cmd_train.cpp, cmd_sft.cpp).
//
// The run's options record the command as "task", so `--resume RUN` reopens the same kind of data
// and a run is refused by the other command (InputError naming the right one).
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "train/batch_source.h"
#include "train/data_vocabulary.h"
#include "train/train_options.h"

namespace ll::cli {

struct TrainingCommand {
  std::string task;       // "train" or "sft": the command's name, saved in the run's options
  std::string summary;    // its --help line
  std::string data_help;  // the help of its --data flag
  bool packing_flags = false;  // declares --token-dtype and --doc-mask (packed pre-training rows)
  // The batches of options.data, with options.context already the effective context; `vocab` is
  // the model's (its tokenizer is loaded only if the data ask for it).
  std::function<std::unique_ptr<BatchSource>(const TrainOptions& options, const DataVocabulary& vocab)> open_data;
};

// Parses argv as `longlora <task>`, trains (a new run in --out, or the run of --resume) and returns
// the exit status; bad input throws InputError.
int run_training(const TrainingCommand& command, int argc, char** argv);

}  // namespace ll::cli
