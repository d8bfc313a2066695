#include "interop/transformers_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/arena.h"
#include "formats/token_file.h"
#include "model/forward.h"

namespace ll::test {

std::vector<float> model_logits(const LlamaModel& model, const std::vector<int32_t>& tokens, int64_t rows) {
  const int64_t T = static_cast<int64_t>(tokens.size()) / rows, C = model.config().hidden_size;
  const BatchLayout batch{rows, T, std::vector<int64_t>(static_cast<size_t>(rows), T)};
  Arena arena;
  std::vector<float> hidden(static_cast<size_t>(rows * T * C));
  forward_hidden(model, batch, tokens.data(), AttentionMask{}, hidden.data(), arena);
  std::vector<float> logits(static_cast<size_t>(rows * T * model.config().vocab_size));
  compute_logits(model, hidden.data(), rows * T, logits.data(), arena);
  return logits;
}

double max_relative_error(const std::vector<float>& got, const float* want, size_t n) {
  if (got.size() != n) {
    ADD_FAILURE() << "compared " << got.size() << " values with " << n;
    return std::numeric_limits<double>::infinity();
  }
  double diff = 0, scale = 0;
  for (size_t i = 0; i < n; ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(got[i]) - want[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(want[i])));
  }
  return diff / scale;
}

std::vector<int32_t> read_u16_tokens(const std::string& path) {
  const TokenFile file = open_token_file(path, TokenDtype::U16, int64_t{1} << 16);
  std::vector<int32_t> ids(static_cast<size_t>(file.size()));
  file.read(0, file.size(), ids.data());
  return ids;
}

}  // namespace ll::test
