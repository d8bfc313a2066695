#include "formats/rope_layout.h"

#include <cstring>

namespace ll {
namespace {

// Copies the rows of w (rows = n_head * D) between the two orders.
OwnedTensor reorder_rows(const Tensor& w, int64_t n_head, bool to_interleaved) {
  LL_CHECK(w.ndim >= 1 && w.is_contiguous() && n_head > 0 && w.shape[0] % (2 * n_head) == 0);
  OwnedTensor out(w.dtype, w.shape, w.ndim);
  const int64_t half = w.shape[0] / n_head / 2;  // D/2
  const size_t row_bytes = w.shape[0] == 0 ? 0 : w.nbytes() / static_cast<size_t>(w.shape[0]);
  const auto* src = static_cast<const uint8_t*>(w.data);
  auto* dst = static_cast<uint8_t*>(out.data());
  for (int64_t h = 0; h < n_head; ++h) {
    const int64_t base = h * 2 * half;
    for (int64_t i = 0; i < half; ++i)
      for (int64_t j = 0; j < 2; ++j) {
        const int64_t interleaved = base + 2 * i + j, rotate_half = base + j * half + i;
        const int64_t from = to_interleaved ? rotate_half : interleaved;
        const int64_t to = to_interleaved ? interleaved : rotate_half;
        std::memcpy(dst + to * row_bytes, src + from * row_bytes, row_bytes);
      }
  }
  return out;
}

}  // namespace

OwnedTensor rotate_half_to_interleaved(const Tensor& w, int64_t n_head) {
  return reorder_rows(w, n_head, true);
}

OwnedTensor interleaved_to_rotate_half(const Tensor& w, int64_t n_head) {
  return reorder_rows(w, n_head, false);
}

}  // namespace ll
