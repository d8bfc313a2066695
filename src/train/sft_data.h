// Supervised fine-tuning data (LongLoRA's supervised-fine-tune.py; DESIGN.md §2 "SFT data"):
// LongAlpaca's format, a JSON list of {"instruction": str, "output": str, "input": str (optional)}.
// Each example becomes one row: prompt (text/prompt_template.h: sft_prompt) and target as in
// train/sft_example.h, truncated to the context. Examples whose prompt alone fills the context
// have nothing to learn from and are skipped. describe() gives the examples kept, their tokens, the
// share of those tokens in the loss, and how many examples were truncated and skipped.
//
// Batches: B examples in a seeded order (reshuffled every epoch), T = the longest of them; shorter
// rows are padded with EOS, lengths[b] is the real length and padding targets are −100.
// Optionally, runs of `length_group` consecutive examples of the shuffled order are sorted by
// length, longest first, so a batch holds similar lengths (HF's group_by_length uses runs of
// 50 × batch size).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "text/tokenizer.h"
#include "train/batch_source.h"

namespace ll {

struct SftDataOptions {
  int64_t context = 0;       // most tokens per example (longer ones are truncated), ≥ 2
  uint64_t seed = 42;        // example order of every epoch
  bool shuffle = true;       // false: examples in file order every epoch
  int64_t length_group = 0;  // > 0: sort runs of this many examples by length (see above); 0 = off
  int64_t max_examples = 0;  // use only the first N examples of the list (0 = all)
};

// Reads and tokenizes `path`. InputError naming the file, and the example ("example [3]",
// counting from 0) and field where one is missing or of the wrong type; also when the file is not
// a JSON list, holds no example, or no example keeps a loss token.
std::unique_ptr<BatchSource> open_sft_data(const std::string& path, const Tokenizer& tokenizer,
                                           const SftDataOptions& options);

}  // namespace ll
