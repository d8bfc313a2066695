// The causal diagonal: the only place where a mask is applied element by element.
#include <algorithm>
#include <limits>

#include "kernels/attention/passes.h"

namespace ll::attn {

void mask_future_keys_transposed(float* s, int64_t ld, int keys, int queries, int64_t key_minus_query) {
  const float hidden = -std::numeric_limits<float>::infinity();
  for (int c = 0; c < keys; ++c) {
    // Key c is after query r when c + key_minus_query > r, i.e. for r < c + key_minus_query.
    const int64_t end = std::clamp<int64_t>(c + key_minus_query, 0, queries);
    std::fill(s + c * ld, s + c * ld + end, hidden);
  }
}

void mask_future_keys(float* s, int64_t ld, int queries, int keys, int cols, int64_t key_minus_query) {
  const float hidden = -std::numeric_limits<float>::infinity();
  for (int r = 0; r < queries; ++r) {
    // Query r sees keys c ≤ r − key_minus_query, and none of the padding [keys, cols).
    const int64_t begin = std::clamp<int64_t>(r - key_minus_query + 1, 0, keys);
    std::fill(s + r * ld + begin, s + r * ld + cols, hidden);
  }
}

}  // namespace ll::attn
