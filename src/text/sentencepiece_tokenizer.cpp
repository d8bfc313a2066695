#include "text/sentencepiece_tokenizer.h"

#include <sentencepiece_processor.h>

#include "core/error.h"
#include "core/mapped_file.h"
#include "text/sentencepiece_model.h"

namespace ll {
namespace {

// The piece types as the processor reports them; only user-defined pieces, which it cannot
// tell from normal ones, are taken from the proto.
std::vector<TokenType> piece_types(const sentencepiece::SentencePieceProcessor& processor,
                                   const SentencePieceModelSpec& spec, const std::string& source) {
  const int piece_count = processor.GetPieceSize();
  if (static_cast<int>(spec.piece_types.size()) != piece_count)
    fail_expected(source, "pieces", std::to_string(piece_count) + " (as loaded by SentencePiece)",
                  std::to_string(spec.piece_types.size()));
  std::vector<TokenType> types;
  for (int id = 0; id < piece_count; ++id) {
    const bool user_defined = spec.piece_types[id] == static_cast<int32_t>(TokenType::UserDefined);
    types.push_back(processor.IsUnknown(id)   ? TokenType::Unknown
                    : processor.IsControl(id) ? TokenType::Control
                    : processor.IsByte(id)    ? TokenType::Byte
                    : processor.IsUnused(id)  ? TokenType::Unused
                    : user_defined            ? TokenType::UserDefined
                                              : TokenType::Normal);
  }
  return types;
}

}  // namespace

SentencePieceTokenizer::SentencePieceTokenizer(
    std::unique_ptr<sentencepiece::SentencePieceProcessor> processor, const std::string& source)
    : Tokenizer(source, processor->GetPieceSize(), processor->bos_id(), processor->eos_id()),
      processor_(std::move(processor)) {}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

std::unique_ptr<SentencePieceTokenizer> SentencePieceTokenizer::from_file(const std::string& path) {
  const MappedFile file(path);
  return from_serialized(
      std::string_view(reinterpret_cast<const char*>(file.data()), file.size()), path);
}

std::unique_ptr<SentencePieceTokenizer> SentencePieceTokenizer::from_serialized(
    std::string_view model_proto, const std::string& source) {
  // Our own wire-format pass first: it rejects truncated or foreign files with a clear message
  // before libsentencepiece sees them, and yields what the processor's API does not expose.
  const SentencePieceModelSpec spec = parse_sentencepiece_model(model_proto, source);
  if (spec.piece_types.empty()) fail_input(source, "not a SentencePiece model: it holds no pieces");
  auto processor = std::make_unique<sentencepiece::SentencePieceProcessor>();
  const auto status = processor->LoadFromSerializedProto(
      absl::string_view(model_proto.data(), model_proto.size()));
  if (!status.ok()) fail_input(source, "not a usable SentencePiece model: " + status.ToString());
  std::unique_ptr<SentencePieceTokenizer> tokenizer(
      new SentencePieceTokenizer(std::move(processor), source));
  tokenizer->spec_ = spec;
  tokenizer->types_ = piece_types(*tokenizer->processor_, spec, source);
  return tokenizer;
}

std::vector<int32_t> SentencePieceTokenizer::encode_text(std::string_view text) const {
  std::vector<int> ids;
  const auto status = processor_->Encode(absl::string_view(text.data(), text.size()), &ids);
  if (!status.ok()) fail_input(source(), "SentencePiece cannot encode the text: " + status.ToString());
  return std::vector<int32_t>(ids.begin(), ids.end());
}

std::string SentencePieceTokenizer::decode_ids(std::span<const int32_t> ids) const {
  const std::vector<int> as_int(ids.begin(), ids.end());
  std::string text;
  const auto status = processor_->Decode(as_int, &text);
  if (!status.ok()) fail_input(source(), "SentencePiece cannot decode the ids: " + status.ToString());
  return text;
}

const std::string& SentencePieceTokenizer::piece_unchecked(int id) const {
  return processor_->IdToPiece(id);
}

TokenType SentencePieceTokenizer::token_type_unchecked(int id) const { return types_[id]; }

Vocab sentencepiece_vocab(const SentencePieceTokenizer& tokenizer) {
  const std::string& where = tokenizer.source();
  const SentencePieceModelSpec& spec = tokenizer.spec();
  // VocabTokenizer implements exactly LLaMA's setup; anything else would silently differ.
  if (spec.model_type != SentencePieceModelSpec::Bpe)
    fail_expected(where, "trainer_spec.model_type", "2 (BPE)", std::to_string(spec.model_type));
  if (spec.has_precompiled_charsmap)
    fail_expected(where, "normalizer_spec.precompiled_charsmap", "empty (identity normalisation)",
                  "normalisation rules '" + spec.normalizer_name + "'");
  if (spec.remove_extra_whitespaces)
    fail_expected(where, "normalizer_spec.remove_extra_whitespaces", "false", "true");
  if (!spec.escape_whitespaces)
    fail_expected(where, "normalizer_spec.escape_whitespaces", "true", "false");
  if (spec.treat_whitespace_as_suffix)
    fail_expected(where, "trainer_spec.treat_whitespace_as_suffix", "false", "true");

  const auto& processor = tokenizer.processor();
  Vocab vocab;
  vocab.source = where;
  for (int id = 0; id < tokenizer.vocab_size(); ++id) {
    vocab.pieces.push_back(processor.IdToPiece(id));
    vocab.scores.push_back(processor.GetScore(id));
    vocab.types.push_back(static_cast<int32_t>(tokenizer.token_type(id)));
  }
  vocab.bos = processor.bos_id();
  vocab.eos = processor.eos_id();
  vocab.unk = processor.unk_id();
  vocab.add_dummy_prefix = spec.add_dummy_prefix;
  validate_vocab(vocab);
  return vocab;
}

Vocab load_sentencepiece_vocab(const std::string& path) {
  return sentencepiece_vocab(*SentencePieceTokenizer::from_file(path));
}

}  // namespace ll
