#include "text/tokenizer.h"

#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/mapped_file.h"
#include "formats/checkpoint.h"
#include "formats/gguf.h"
#include "text/gguf_vocab.h"
#include "text/sentencepiece_tokenizer.h"
#include "text/vocab_tokenizer.h"

namespace ll {

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_bos, bool add_eos) const {
  if (add_bos && bos_id_ < 0) fail_input(source_, "the vocabulary has no BOS token");
  if (add_eos && eos_id_ < 0) fail_input(source_, "the vocabulary has no EOS token");
  std::vector<int32_t> ids = encode_text(text);
  if (add_bos) ids.insert(ids.begin(), bos_id_);
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

void Tokenizer::check_id(int64_t id) const {
  if (id < 0 || id >= vocab_size_)
    fail_expected(source_, "token id", "an id below the vocabulary size " +
                  std::to_string(vocab_size_), std::to_string(id));
}

namespace {

[[noreturn]] void fail_no_tokenizer(const std::string& path) {
  fail_input("", "no tokenizer: " + path + " has no tokenizer.model and is not a GGUF file");
}

bool starts_with_gguf_magic(const MappedFile& file) {
  return file.size() >= 4 && std::memcmp(file.data(), "GGUF", 4) == 0;
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path) {
  std::error_code error;  // unreadable paths fail below, naming the path
  if (std::filesystem::is_directory(path, error)) {
    const std::string model_path = path + "/tokenizer.model";
    if (!std::filesystem::exists(model_path, error)) fail_no_tokenizer(path);
    return SentencePieceTokenizer::from_file(model_path);
  }
  if (starts_with_gguf_magic(MappedFile(path)))
    return std::make_unique<VocabTokenizer>(load_gguf_vocab(GgufFile(path)));
  return SentencePieceTokenizer::from_file(path);
}

std::unique_ptr<Tokenizer> load_tokenizer(const ModelCheckpoint& checkpoint) {
  const std::string model_path = checkpoint.tokenizer_model_path();
  if (!model_path.empty()) return SentencePieceTokenizer::from_file(model_path);
  if (checkpoint.gguf()) return std::make_unique<VocabTokenizer>(load_gguf_vocab(*checkpoint.gguf()));
  fail_no_tokenizer(checkpoint.path());
}

}  // namespace ll
