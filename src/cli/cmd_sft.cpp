// longlora sft: supervised fine-tuning the LongLoRA way (supervised-fine-tune.py) on LongAlpaca's
// JSON list of {instruction, output[, input]}: one example per row, prompt in LongLoRA's llama2
// template and masked from the loss, target = output + EOS, truncated to --context
// (train/sft_data.h). Rows of a batch keep their own lengths: shorter ones are padded with −100
// targets, and S²-Attn takes its group size from each row's own length (a last group shorter than
// the others when the length is not a multiple of it; kernels/attention/attention.h). Training,
// checkpoints, --resume and the outputs are those of `longlora train` (cli/run_training.h).
#include "cli/commands.h"
#include "cli/run_training.h"
#include "train/sft_data.h"

namespace ll::cli {

namespace {

std::unique_ptr<BatchSource> open_examples(const TrainOptions& options, const DataVocabulary& vocab) {
  SftDataOptions data_options;
  data_options.context = options.context;
  data_options.seed = options.seed;
  return open_sft_data(options.data, vocab.tokenizer(), data_options);
}

}  // namespace

int run_sft(int argc, char** argv) {
  TrainingCommand command;
  command.task = "sft";
  command.summary =
      "Supervised fine-tuning the LongLoRA way: LongAlpaca JSON, prompt masked from the loss, LoRA+ with S2-Attn.";
  command.data_help = "a JSON list of {\"instruction\", \"output\"[, \"input\"]} examples (LongAlpaca's format)";
  command.open_data = open_examples;
  return run_training(command, argc, argv);
}

}  // namespace ll::cli
