// Passkey retrieval (Mohtashami & Jaggi 2023), as LongLoRA's passkey_retrivial.py runs it:
// a pass key hidden at a random depth of repeated filler text; the model must continue
// "What is the pass key? The pass key is" with exactly the key's tokens (greedy).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/llama_model.h"
#include "text/tokenizer.h"

namespace ll {

struct PasskeyPrompt {
  std::string prompt;
  std::string answer;  // the key, e.g. "27563"
};

// The prompt for `n_garbage` filler characters and `seed` (numpy.random.seed(seed), as LongLoRA):
// the prefix length randint(0, n_garbage), the key randint(1, 50000) (numpy's upper bounds are
// exclusive), then
//   task line \n prefix filler \n "The pass key is K. Remember it. K is the pass key." \n
//   suffix filler \n "What is the pass key? The pass key is"
PasskeyPrompt make_passkey_prompt(int64_t n_garbage, uint64_t seed);

// Filler characters for the i-th length (0-based) of a schedule with `interval`:
// floor(3.75·(i+1)·interval / 1024)·1024.
int64_t passkey_garbage_chars(int64_t i, int64_t interval);

struct PasskeyTrial {
  uint64_t seed;
  int64_t prompt_tokens;
  std::string answer, model_answer;
  bool correct;
};

// Greedy continuation of the prompt for as many tokens as the answer has (its ids without BOS);
// correct when they are exactly the answer's ids.
PasskeyTrial run_passkey_trial(const LlamaModel& model, const Tokenizer& tokenizer, int64_t n_garbage, uint64_t seed);

}  // namespace ll
