// What training data need of the model's vocabulary: token files only its size (their ids are
// checked against it) and BOS/EOS (document boundaries); text needs the tokenizer itself. Built from
// a model, the tokenizer is loaded on first use, so that token files train a model that ships none
// (an HF directory without tokenizer.model); text data then fail with load_tokenizer's "no
// tokenizer" error naming the model.
#pragma once
#include <cstdint>
#include <memory>

#include "formats/model_files.h"
#include "text/tokenizer.h"

namespace ll {

class DataVocabulary {
 public:
  // A tokenizer at hand: its size and ids. Implicit, so that a Tokenizer can be passed as is.
  DataVocabulary(const Tokenizer& tokenizer);  // NOLINT(google-explicit-constructor)
  // A model's: its config's vocab_size, bos_token_id and eos_token_id; its tokenizer on first use.
  explicit DataVocabulary(const ModelFiles& files);

  int64_t size() const { return size_; }
  int32_t bos_id() const { return bos_id_; }
  int32_t eos_id() const { return eos_id_; }
  // The tokenizer, loaded now if need be (InputError when the model has none).
  const Tokenizer& tokenizer() const;

 private:
  const ModelFiles* files_ = nullptr;  // the model whose tokenizer tokenizer() loads
  mutable std::unique_ptr<Tokenizer> loaded_;
  mutable const Tokenizer* tokenizer_ = nullptr;
  int64_t size_;
  int32_t bos_id_, eos_id_;
};

}  // namespace ll
