// Packing a token stream into training rows (LongLoRA's fine-tune.py, HF causal-LM semantics):
// row r holds stream[r·C, (r+1)·C) for C = context, the tail that does not fill a row is dropped,
// and position t of a row predicts the next token of the SAME row:
//   targets[t] = tokens[t+1]  for t < C−1,    targets[C−1] = −100 (no loss)
// so every row gives C−1 predictions and no loss crosses a row boundary.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "train/data_stream.h"

namespace ll {

// Whole rows of `context` tokens in a stream of `tokens`.
inline int64_t packed_rows(int64_t tokens, int64_t context) { return tokens / context; }

// Row `row` of the stream: tokens[0, C) and targets[0, C) as above (row < packed_rows()).
void pack_row(const TokenStream& stream, int64_t row, int64_t context, int32_t* tokens, int32_t* targets);

// Next-token targets of a row of tokens already in place: targets[t] = tokens[t+1], −100 at the end.
void next_token_targets(std::span<const int32_t> tokens, std::span<int32_t> targets);

// The positions t > 0 of a row where a document starts (for the attention's document mask):
// right after an EOS, or where a BOS sits. bos_id / eos_id < 0 (none in the vocabulary) never match.
std::vector<int64_t> document_starts(std::span<const int32_t> tokens, int32_t bos_id, int32_t eos_id);

}  // namespace ll
