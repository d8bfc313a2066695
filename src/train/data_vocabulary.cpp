#include "train/data_vocabulary.h"

namespace ll {

DataVocabulary::DataVocabulary(const Tokenizer& tokenizer)
    : tokenizer_(&tokenizer), size_(tokenizer.vocab_size()), bos_id_(tokenizer.bos_id()), eos_id_(tokenizer.eos_id()) {}

DataVocabulary::DataVocabulary(const ModelFiles& files)
    : files_(&files),
      size_(files.config().vocab_size),
      bos_id_(static_cast<int32_t>(files.config().bos_token_id)),
      eos_id_(static_cast<int32_t>(files.config().eos_token_id)) {}

const Tokenizer& DataVocabulary::tokenizer() const {
  if (!tokenizer_) {
    loaded_ = load_tokenizer(*files_);
    tokenizer_ = loaded_.get();
  }
  return *tokenizer_;
}

}  // namespace ll
