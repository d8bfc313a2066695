#include "train/packing.h"

#include "core/error.h"
#include "core/ignore_index.h"

namespace ll {

void next_token_targets(std::span<const int32_t> tokens, std::span<int32_t> targets) {
  LL_CHECK(tokens.size() == targets.size());
  if (tokens.empty()) return;
  for (size_t t = 0; t + 1 < tokens.size(); ++t) targets[t] = tokens[t + 1];
  targets.back() = kIgnoreIndex;
}

void pack_row(const TokenStream& stream, int64_t row, int64_t context, int32_t* tokens, int32_t* targets) {
  LL_CHECK(row >= 0 && row < packed_rows(stream.size(), context));
  stream.read(row * context, context, tokens);
  next_token_targets({tokens, static_cast<size_t>(context)}, {targets, static_cast<size_t>(context)});
}

std::vector<int64_t> document_starts(std::span<const int32_t> tokens, int32_t bos_id, int32_t eos_id) {
  std::vector<int64_t> starts;
  for (size_t t = 1; t < tokens.size(); ++t) {
    if (tokens[t - 1] == eos_id || tokens[t] == bos_id) starts.push_back(static_cast<int64_t>(t));
  }
  return starts;
}

}  // namespace ll
