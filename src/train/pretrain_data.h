// Pre-training data (LongLoRA's fine-tune.py; DESIGN.md §2 "Training defaults"): documents
// tokenized as BOS + text, joined with EOS into one stream
//     BOS d1 EOS BOS d2 EOS …          (token files are appended as they are: EOS-separated already)
// and packed into rows of exactly `context` tokens (train/packing.h: targets are the next token
// within the row, −100 at its last position; the tail that does not fill a row is dropped).
// Rows are read in a seeded order, reshuffled every epoch (train/data_order.h). Inputs: see
// train/data_files.h (text, JSONL, token files, or a directory of them); only text needs the
// tokenizer (train/data_vocabulary.h).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "formats/token_file.h"
#include "train/data_vocabulary.h"
#include "train/batch_source.h"

namespace ll {

struct PretrainDataOptions {
  int64_t context = 0;                       // tokens per row, ≥ 2
  uint64_t seed = 42;                        // row order of every epoch
  bool shuffle = true;                       // false: rows in stream order every epoch
  bool doc_mask = false;                     // fill TrainBatch::doc_starts (attention document mask)
  TokenDtype token_dtype = TokenDtype::U16;  // of .bin token files
  int64_t max_documents = 0;                 // use only the first N documents (0 = all)
  int64_t max_tokens = 0;                    // use only the first N tokens of the stream (0 = all)
};

// Reads, tokenizes and packs `path`. InputError naming the file (and line, for JSONL) for
// unreadable or malformed input, and "<path> has N tokens; one row of --context C needs at least
// C" when the data does not fill one row.
std::unique_ptr<BatchSource> open_pretrain_data(const std::string& path, const DataVocabulary& vocab,
                                                const PretrainDataOptions& options);

}  // namespace ll
