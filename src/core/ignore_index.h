// A target that counts for nothing in the loss: PyTorch's ignore_index −100 (CrossEntropyLoss), as
// HF labels use it for prompt tokens, padding and the last token of a row.
#pragma once
#include <cstdint>

namespace ll {

constexpr int32_t kIgnoreIndex = -100;

}  // namespace ll
