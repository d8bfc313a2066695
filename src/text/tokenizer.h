// Text <-> token ids for LLaMA-family models. SentencePieceTokenizer (libsentencepiece over
// tokenizer.model, the reference) and VocabTokenizer (our SentencePiece-BPE over a Vocab, for the
// vocabulary embedded in GGUF) give identical results; HfTokenizer runs a tokenizer.json (Hugging
// Face's fast tokenizers: Llama 3, Qwen2, LLaMA-2's HF repo) as the `tokenizers` library does.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "text/vocab.h"

namespace ll {

class ModelFiles;

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Token ids of `text` (any bytes; malformed UTF-8 is read as U+FFFD per byte as SentencePiece
  // does, or per maximal malformed subpart as Python and the tokenizers library do for
  // tokenizer.json), optionally with BOS before and EOS after. A tokenizer without BOS throws
  // InputError for add_bos, except one that has none by design (a tokenizer.json whose
  // post-processor puts nothing before the text, as Qwen2's): it prepends nothing.
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

  // For incremental decoding (StreamingDecoder): how many leading `ids` (all in range) have text
  // that no ids appended later can change, i.e. decode(ids[0..k)) stays a prefix of the text.
  // The default holds back a trailing run of byte tokens that may end inside a character.
  virtual size_t final_prefix(std::span<const int32_t> ids) const;

 protected:
  Tokenizer(std::string source, int vocab_size, int bos_id, int eos_id, bool no_bos_by_design = false)
      : source_(std::move(source)),
        vocab_size_(vocab_size),
        bos_id_(bos_id),
        eos_id_(eos_id),
        no_bos_by_design_(no_bos_by_design) {}

  // `text` without BOS/EOS; ids already checked to be in range.
  virtual std::vector<int32_t> encode_text(std::string_view text) const = 0;
  virtual std::string decode_ids(std::span<const int32_t> ids) const = 0;
  virtual const std::string& piece_unchecked(int id) const = 0;
  virtual TokenType token_type_unchecked(int id) const = 0;

 private:
  void check_id(int64_t id) const;

  std::string source_;
  int vocab_size_, bos_id_, eos_id_;
  bool no_bos_by_design_;  // add_bos adds nothing instead of failing
};

// The tokenizer in `path`: a SentencePiece tokenizer.model (SentencePieceTokenizer), a GGUF
// file (recognised by its magic; VocabTokenizer over its vocabulary), a tokenizer.json (a name
// ending in .json or a file starting with '{'; HfTokenizer), or a directory holding a
// tokenizer.model or else a tokenizer.json. Throws InputError naming the file when it is missing,
// unreadable or not a tokenizer.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path);

// The files that make up the tokenizer at `path` (a tokenizer.model or tokenizer.json file, or a
// directory as load_tokenizer reads it), each with the name it has in a model directory:
// tokenizer.model, or tokenizer.json and the tokenizer_config.json beside it (when there is one).
// Throws InputError for a GGUF file, whose vocabulary is no file of its own.
struct TokenizerFile {
  std::string source, name;
};
std::vector<TokenizerFile> tokenizer_files(const std::string& path);

// The tokenizer that goes with a model: the HF directory's tokenizer.model, else its
// tokenizer.json, else the vocabulary inside the GGUF file; none -> InputError "no tokenizer: ...".
// tokenizer.model comes first where both exist: longlora has always used it, libsentencepiece is
// the reference for it, and LLaMA-2's tokenizer.json gives the same ids on text that does not
// spell out special tokens such as "</s>" (which tokenizer.json turns into the token).
std::unique_ptr<Tokenizer> load_tokenizer(const ModelFiles& files);

}  // namespace ll
