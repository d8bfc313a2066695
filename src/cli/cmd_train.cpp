// longlora train: continued pre-training the LongLoRA way (fine-tune.py) — LoRA+ (or --full) with
// S²-Attn at a longer context, AdamW, warm-up, gradient accumulation, clipping, checkpoints and
// --resume, PEFT / HF outputs (train/trainer.h). Ctrl-C saves a checkpoint and exits 0; a NaN or
// Inf stops or skips per --on-nan; see README "Guarantees". Everything but the data is shared with
// `longlora sft` (cli/run_training.h); the data are documents packed into rows of --context tokens
// (train/pretrain_data.h).
#include "cli/commands.h"
#include "cli/run_training.h"
#include "formats/token_file.h"
#include "train/pretrain_data.h"

namespace ll::cli {

namespace {

std::unique_ptr<BatchSource> open_packed_rows(const TrainOptions& options, const DataVocabulary& vocab) {
  PretrainDataOptions data_options;
  data_options.context = options.context;
  data_options.seed = options.seed;
  data_options.doc_mask = options.doc_mask;
  data_options.token_dtype = parse_token_dtype(options.token_dtype, "--token-dtype");
  return open_pretrain_data(options.data, vocab, data_options);
}

}  // namespace

int run_train(int argc, char** argv) {
  TrainingCommand command;
  command.task = "train";
  command.summary = "Continued pre-training the LongLoRA way: LoRA+ (or --full) with S2-Attn, AdamW, checkpoints.";
  command.data_help = "training data: .txt, .jsonl {\"text\"}, .bin token file, or a directory of them";
  command.packing_flags = true;
  command.open_data = open_packed_rows;
  return run_training(command, argc, argv);
}

}  // namespace ll::cli
