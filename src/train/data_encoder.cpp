#include "train/data_encoder.h"

#include "core/error.h"
#include "text/sentencepiece_tokenizer.h"
#include "text/vocab_tokenizer.h"

namespace ll {

DataEncoder::DataEncoder(const Tokenizer& tokenizer) : encoder_(&tokenizer) {
  const auto* sentencepiece = dynamic_cast<const SentencePieceTokenizer*>(&tokenizer);
  if (!sentencepiece) return;
  try {
    fast_ = std::make_unique<VocabTokenizer>(sentencepiece_vocab(*sentencepiece));
  } catch (const InputError&) {
    return;  // a model VocabTokenizer does not reproduce: libsentencepiece encodes
  }
  LL_CHECK(fast_->vocab_size() == tokenizer.vocab_size() && fast_->bos_id() == tokenizer.bos_id() &&
           fast_->eos_id() == tokenizer.eos_id());
  encoder_ = fast_.get();
}

DataEncoder::~DataEncoder() = default;

std::vector<std::vector<int32_t>> DataEncoder::encode_all(std::span<const std::string_view> texts, bool add_bos,
                                                          bool add_eos) const {
  std::vector<std::vector<int32_t>> ids(texts.size());
  const int64_t n = static_cast<int64_t>(texts.size());
  // Exceptions (no BOS/EOS in the vocabulary) must not leave the parallel region.
  std::exception_ptr failure;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t i = 0; i < n; ++i) {
    try {
      ids[i] = encoder_->encode(texts[i], add_bos, add_eos);
    } catch (...) {
#pragma omp critical(data_encoder_failure)
      if (!failure) failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
  return ids;
}

}  // namespace ll
