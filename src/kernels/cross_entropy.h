// Softmax cross-entropy over the vocabulary, one chunk of rows at a time: the caller computes the
// logits of a chunk, calls this, and back-propagates the chunk's dlogits, so the full [N, V]
// logits never exist. Rows whose target is kIgnoreIndex (−100, as PyTorch) count for nothing.
#pragma once
#include <cstdint>

#include "core/ignore_index.h"

namespace ll {

// In place: logits [rows, V] → dlogits = (softmax(logits) − onehot(target)) · grad_scale, the
// gradient of grad_scale · Σ_rows loss (rows with target −100 get all-zero gradient).
// Returns Σ over the non-ignored rows of loss = −log softmax(logits)[target] = logsumexp − logit[target],
// summed in double in row order. A target outside [0, V) other than −100 throws ll::InputError (naming
// the row, the target and V) before anything is written.
double softmax_cross_entropy(float* logits_to_dlogits, const int32_t* targets, int64_t rows, int V,
                             float grad_scale);

// The same sum of losses without the gradient (evaluation); logits are not modified.
double cross_entropy_loss(const float* logits, const int32_t* targets, int64_t rows, int V);

// out[V] = log softmax(logits[V]) = logits − logsumexp(logits). out may equal logits.
void log_softmax_row(float* out, const float* logits, int V);

// Index of the largest logit (the first one on ties), as torch.argmax; V ≥ 1.
int argmax_row(const float* logits, int V);

}  // namespace ll
