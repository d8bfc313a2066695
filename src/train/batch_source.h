// Where training batches come from: pre-training data (text, JSONL, token files; packed rows) or
// SFT data (LongAlpaca JSON; one example per row). The trainer only sees this interface, and
// saves/restores the position so that a resumed run reads exactly the batches it would have read.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "model/train_step.h"

namespace ll {

class BatchSource {
 public:
  virtual ~BatchSource() = default;

  // The next batch of `batch_size` rows (B = batch_size, T = the context or the longest row),
  // in this source's seeded order; wraps into the next epoch (reshuffled) when exhausted.
  virtual TrainBatch next(int64_t batch_size) = 0;
  // The position in the stream (epoch, index within the epoch's order, seed, and a fingerprint
  // of the data and options so a resume with other data is refused).
  virtual nlohmann::json cursor() const = 0;
  // Continue from a cursor(); InputError when it does not belong to this data/options.
  virtual void restore(const nlohmann::json& cursor) = 0;
  // Rows per epoch and tokens per epoch (for progress and the start-up summary).
  virtual int64_t rows_per_epoch() const = 0;
  virtual int64_t tokens_per_epoch() const = 0;
  // One line for the start-up summary: "austen.txt: 2.29M tokens in 6 documents, 559 rows of 4096".
  virtual std::string describe() const = 0;
};

}  // namespace ll
