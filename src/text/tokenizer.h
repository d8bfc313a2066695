// Text <-> token ids for LLaMA-family models. Two implementations with identical results:
// SentencePieceTokenizer (libsentencepiece over tokenizer.model, the reference) and
// VocabTokenizer (our SentencePiece-BPE over a Vocab, for the vocabulary embedded in GGUF).
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "text/vocab.h"

namespace ll {

class ModelCheckpoint;

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Token ids of `text` (any bytes; malformed UTF-8 is read as U+FFFD per byte, like
  // SentencePiece), optionally with BOS before and EOS after.
  std::vector<int32_t> encode(std::string_view text, bool add_bos, bool add_eos = false) const;
  // Text of `ids`: control tokens vanish, byte tokens become bytes (malformed runs become
  // U+FFFD), the dummy-prefix space is dropped once at the start. Throws InputError for an
  // id outside the vocabulary.
  std::string decode(std::span<const int32_t> ids) const;

  const std::string& piece(int id) const;  // throws InputError when out of range
  TokenType token_type(int id) const;      // throws InputError when out of range
  int bos_id() const { return bos_id_; }   // -1: none
  int eos_id() const { return eos_id_; }   // -1: none
  int vocab_size() const { return vocab_size_; }
  const std::string& source() const { return source_; }  // the file, for messages

 protected:
  Tokenizer(std::string source, int vocab_size, int bos_id, int eos_id)
      : source_(std::move(source)), vocab_size_(vocab_size), bos_id_(bos_id), eos_id_(eos_id) {}

  // `text` without BOS/EOS; ids already checked to be in range.
  virtual std::vector<int32_t> encode_text(std::string_view text) const = 0;
  virtual std::string decode_ids(std::span<const int32_t> ids) const = 0;
  virtual const std::string& piece_unchecked(int id) const = 0;
  virtual TokenType token_type_unchecked(int id) const = 0;

 private:
  void check_id(int64_t id) const;

  std::string source_;
  int vocab_size_, bos_id_, eos_id_;
};

// The tokenizer in `path`: a SentencePiece tokenizer.model (SentencePieceTokenizer), a GGUF
// file (recognised by its magic; VocabTokenizer over its vocabulary), or a directory holding a
// tokenizer.model. Throws InputError naming the file when it is missing, unreadable or not a
// tokenizer.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path);

// The tokenizer that goes with a model: the HF directory's tokenizer.model if present, else the
// vocabulary inside the GGUF file; neither -> InputError "no tokenizer: ...".
std::unique_ptr<Tokenizer> load_tokenizer(const ModelCheckpoint& checkpoint);

}  // namespace ll
