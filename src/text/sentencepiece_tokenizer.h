// The reference tokenizer: libsentencepiece's SentencePieceProcessor over a tokenizer.model.
#pragma once
#include <memory>
#include <string>
#include <string_view>

#include "text/sentencepiece_model.h"
#include "text/tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace ll {

class SentencePieceTokenizer final : public Tokenizer {
 public:
  // Throws InputError naming the file when it is missing or not a SentencePiece model.
  static std::unique_ptr<SentencePieceTokenizer> from_file(const std::string& path);
  // A serialized ModelProto (e.g. serialize_sentencepiece_model(vocab)); `source` names it.
  static std::unique_ptr<SentencePieceTokenizer> from_serialized(std::string_view model_proto,
                                                                 const std::string& source);
  ~SentencePieceTokenizer() override;

  const sentencepiece::SentencePieceProcessor& processor() const { return *processor_; }
  const SentencePieceModelSpec& spec() const { return spec_; }

 private:
  SentencePieceTokenizer(std::unique_ptr<sentencepiece::SentencePieceProcessor> processor,
                         const std::string& source);

  std::vector<int32_t> encode_text(std::string_view text) const override;
  std::string decode_ids(std::span<const int32_t> ids) const override;
  const std::string& piece_unchecked(int id) const override;
  TokenType token_type_unchecked(int id) const override;

  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
  SentencePieceModelSpec spec_;   // what the processor's API does not expose
  std::vector<TokenType> types_;  // per piece (user-defined ones known from spec_ only)
};

// The vocabulary of a SentencePiece model, for VocabTokenizer. Throws InputError naming the
// file when the model is not one VocabTokenizer reproduces exactly: BPE with LLaMA's
// normalisation (identity rules, spaces escaped to "▁", whitespace runs kept).
Vocab load_sentencepiece_vocab(const std::string& path);
Vocab sentencepiece_vocab(const SentencePieceTokenizer& tokenizer);

}  // namespace ll
