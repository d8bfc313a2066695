#include "train/sft_example.h"

#include <algorithm>

#include "core/error.h"
#include "core/ignore_index.h"

namespace ll {

SftExample make_sft_example(std::span<const int32_t> prompt_ids, std::span<const int32_t> target_ids,
                            int64_t context) {
  LL_CHECK(context > 0);
  SftExample example;
  example.prompt_length = static_cast<int64_t>(prompt_ids.size());
  const int64_t full = example.prompt_length + static_cast<int64_t>(target_ids.size());
  example.truncated = full > context;
  const int64_t length = std::min(full, context);
  const int64_t from_prompt = std::min(example.prompt_length, length);
  example.tokens.reserve(length);
  example.tokens.insert(example.tokens.end(), prompt_ids.begin(), prompt_ids.begin() + from_prompt);
  example.tokens.insert(example.tokens.end(), target_ids.begin(), target_ids.begin() + (length - from_prompt));
  return example;
}

void sft_targets(const SftExample& example, std::span<int32_t> targets) {
  const int64_t length = example.length();
  LL_CHECK(static_cast<int64_t>(targets.size()) == length);
  for (int64_t t = 0; t < length; ++t) {
    const bool next_is_target = t + 1 < length && t + 1 >= example.prompt_length;
    targets[t] = next_is_target ? example.tokens[t + 1] : kIgnoreIndex;
  }
}

}  // namespace ll
