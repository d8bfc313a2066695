#include "text/tokenizer.h"

#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/mapped_file.h"
#include "formats/model_files.h"
#include "formats/gguf.h"
#include "text/gguf_vocab.h"
#include "text/hf_tokenizer.h"
#include "text/sentencepiece_tokenizer.h"
#include "text/utf8.h"
#include "text/vocab_tokenizer.h"

namespace ll {

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_bos, bool add_eos) const {
  if (add_bos && bos_id_ < 0 && !no_bos_by_design_) fail_input(source_, "the vocabulary has no BOS token");
  if (add_eos && eos_id_ < 0) fail_input(source_, "the vocabulary has no EOS token");
  std::vector<int32_t> ids = encode_text(text);
  if (add_bos && bos_id_ >= 0) ids.insert(ids.begin(), bos_id_);
  if (add_eos) ids.push_back(eos_id_);
  return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids) const {
  for (int32_t id : ids) check_id(id);
  return decode_ids(ids);
}

const std::string& Tokenizer::piece(int id) const {
  check_id(id);
  return piece_unchecked(id);
}

TokenType Tokenizer::token_type(int id) const {
  check_id(id);
  return token_type_unchecked(id);
}

size_t Tokenizer::final_prefix(std::span<const int32_t> ids) const {
  // Only a trailing run of byte tokens can still change: its last character may be incomplete.
  size_t run_begin = ids.size();
  while (run_begin > 0 && token_type_unchecked(ids[run_begin - 1]) == TokenType::Byte) --run_begin;
  std::string bytes;
  for (size_t i = run_begin; i < ids.size(); ++i)
    bytes.push_back(static_cast<char>(*parse_byte_piece(piece_unchecked(ids[i]))));
  // Walk the run like the decoder does; stop at a character that more bytes could complete.
  std::string_view rest(bytes);
  while (!rest.empty()) {
    const size_t length = utf8::valid_char_length(rest);
    if (length == 0 && utf8::is_unfinished_char(rest)) break;
    rest.remove_prefix(length > 0 ? length : 1);  // a malformed byte is final: U+FFFD
  }
  return ids.size() - rest.size();  // one byte per byte token
}

void Tokenizer::check_id(int64_t id) const {
  if (id < 0 || id >= vocab_size_)
    fail_expected(source_, "token id", "an id below the vocabulary size " +
                  std::to_string(vocab_size_), std::to_string(id));
}

namespace {

[[noreturn]] void fail_no_tokenizer(const std::string& path) {
  fail_input("", "no tokenizer: " + path + " has no tokenizer.model or tokenizer.json and is not a GGUF file");
}

bool starts_with(const MappedFile& file, std::string_view magic) {
  return file.size() >= magic.size() && std::memcmp(file.data(), magic.data(), magic.size()) == 0;
}

enum class TokenizerKind { SentencePiece, TokenizerJson, Gguf };

// The tokenizer file of a directory: its tokenizer.model, else its tokenizer.json; "" when neither.
std::string file_in_directory(const std::string& dir) {
  std::error_code error;  // unreadable paths fail when opened, naming the path
  for (const char* name : {"/tokenizer.model", "/tokenizer.json"})
    if (std::filesystem::exists(dir + name, error)) return dir + name;
  return "";
}

// What the file `path` holds: GGUF (its magic), tokenizer.json (a .json name or a '{' first),
// or else a SentencePiece model.
TokenizerKind kind_of_file(const std::string& path) {
  const MappedFile file(path);
  if (starts_with(file, "GGUF")) return TokenizerKind::Gguf;
  if (path.ends_with(".json") || starts_with(file, "{")) return TokenizerKind::TokenizerJson;
  return TokenizerKind::SentencePiece;
}

// `path`, or the tokenizer file inside it when it is a directory.
std::string tokenizer_file(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::is_directory(path, error)) return path;
  const std::string file = file_in_directory(path);
  if (file.empty()) fail_no_tokenizer(path);
  return file;
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path) {
  const std::string file = tokenizer_file(path);
  switch (kind_of_file(file)) {
    case TokenizerKind::Gguf: return std::make_unique<VocabTokenizer>(load_gguf_vocab(GgufFile(file)));
    case TokenizerKind::TokenizerJson: return HfTokenizer::from_file(file);
    case TokenizerKind::SentencePiece: break;
  }
  return SentencePieceTokenizer::from_file(file);
}

std::vector<TokenizerFile> tokenizer_files(const std::string& path) {
  const std::string file = tokenizer_file(path);
  switch (kind_of_file(file)) {
    case TokenizerKind::Gguf:
      fail_input(file, "a GGUF vocabulary is not a tokenizer file to copy; give a tokenizer.model or tokenizer.json");
    case TokenizerKind::TokenizerJson: {
      std::vector<TokenizerFile> files = {{file, "tokenizer.json"}};
      const std::string config = (std::filesystem::path(file).parent_path() / "tokenizer_config.json").string();
      std::error_code error;
      if (std::filesystem::is_regular_file(config, error)) files.push_back({config, "tokenizer_config.json"});
      return files;
    }
    case TokenizerKind::SentencePiece: break;
  }
  return {{file, "tokenizer.model"}};
}

std::unique_ptr<Tokenizer> load_tokenizer(const ModelFiles& files) {
  if (files.gguf()) return std::make_unique<VocabTokenizer>(load_gguf_vocab(*files.gguf()));
  return load_tokenizer(tokenizer_file(files.path()));
}

}  // namespace ll
