// One supervised fine-tuning example as tokens and loss targets (LongLoRA's supervised-fine-tune.py
// with HF's label shift):
//   whole       = BOS + encode(prompt + output) + EOS, tokenised as one text
//   prompt ids  = its first len(BOS + encode(prompt)) tokens    target ids = the rest
//   tokens      = (prompt ids + target ids) truncated to `context`
//   targets[t]  = tokens[t+1] where that token belongs to the target (t + 1 ≥ prompt length),
//                 −100 where it belongs to the prompt, and −100 at the last position.
// An example whose prompt alone fills the context has no loss token left: has_loss() is false.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace ll {

struct SftExample {
  std::vector<int32_t> tokens;  // [≤ context]
  int64_t prompt_length = 0;    // tokens of the prompt before truncation (BOS included)
  bool truncated = false;       // prompt + target was longer than the context

  int64_t length() const { return static_cast<int64_t>(tokens.size()); }
  bool has_loss() const { return prompt_length < length(); }
};

SftExample make_sft_example(std::span<const int32_t> prompt_ids, std::span<const int32_t> target_ids,
                            int64_t context);

// targets[0, length()) as above.
void sft_targets(const SftExample& example, std::span<int32_t> targets);

}  // namespace ll
