// The parts of a SentencePiece tokenizer.model (a serialized ModelProto) that
// SentencePieceProcessor's API does not expose, and the reverse: a Vocab written as a
// ModelProto that libsentencepiece (and transformers' LlamaTokenizer) can load.
// Only protobuf's wire format is involved; field numbers are those of sentencepiece_model.proto.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "text/vocab.h"

namespace ll {

struct SentencePieceModelSpec {
  enum ModelType : int32_t { Unigram = 1, Bpe = 2, Word = 3, Char = 4 };
  int32_t model_type = Unigram;             // trainer_spec.model_type
  bool byte_fallback = false;               // trainer_spec.byte_fallback
  bool treat_whitespace_as_suffix = false;  // trainer_spec.treat_whitespace_as_suffix
  std::string normalizer_name;              // normalizer_spec.name ("identity" for LLaMA)
  bool has_precompiled_charsmap = false;    // normalizer_spec.precompiled_charsmap non-empty
  bool add_dummy_prefix = true;             // normalizer_spec.add_dummy_prefix
  bool remove_extra_whitespaces = true;     // normalizer_spec.remove_extra_whitespaces
  bool escape_whitespaces = true;           // normalizer_spec.escape_whitespaces
  std::vector<int32_t> piece_types;         // pieces[i].type (TokenType values)
};

// Throws InputError naming `where` when `serialized` is not a well-formed ModelProto.
SentencePieceModelSpec parse_sentencepiece_model(std::string_view serialized,
                                                 const std::string& where);

// A BPE ModelProto with the vocabulary's pieces, scores, types, special ids and
// add_dummy_prefix, LLaMA's identity normaliser and byte fallback when it has byte pieces.
// The vocabulary must pass validate_vocab().
std::string serialize_sentencepiece_model(const Vocab& vocab);

}  // namespace ll
