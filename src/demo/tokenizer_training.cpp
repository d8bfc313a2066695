#include "demo/tokenizer_training.h"

#include <sentencepiece_trainer.h>

#include <filesystem>

#include "core/error.h"

namespace ll::demo {

void train_bpe_tokenizer(const std::string& input_text, const std::string& model_path, int vocab_size, int threads) {
  const std::string prefix = model_path + ".training";
  const std::string args = "--input=" + input_text + " --model_prefix=" + prefix +
                           " --vocab_size=" + std::to_string(vocab_size) +
                           " --model_type=bpe --character_coverage=1.0 --byte_fallback=true --split_digits=true"
                           " --normalization_rule_name=identity --remove_extra_whitespaces=false"
                           " --add_dummy_prefix=true --allow_whitespace_only_pieces=true"
                           " --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1 --minloglevel=2"
                           " --num_threads=" + std::to_string(threads);
  const auto status = sentencepiece::SentencePieceTrainer::Train(args);
  if (!status.ok()) fail_input(input_text, "SentencePiece training failed: " + status.ToString());
  std::filesystem::rename(prefix + ".model", model_path);
  std::filesystem::remove(prefix + ".vocab");
}

}  // namespace ll::demo
