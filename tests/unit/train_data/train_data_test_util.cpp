#include "train_data_test_util.h"

#include <gtest/gtest.h>

#include "support/test_support.h"
#include "text/vocab_tokenizer.h"

namespace ll::test {

namespace {

Vocab tiny_vocab() {
  Vocab vocab;
  vocab.source = "tiny test vocabulary";
  auto add = [&](std::string piece, TokenType type, float score) {
    vocab.pieces.push_back(std::move(piece));
    vocab.types.push_back(static_cast<int32_t>(type));
    vocab.scores.push_back(score);
  };
  add("<unk>", TokenType::Unknown, 0);
  add("<s>", TokenType::Control, 0);
  add("</s>", TokenType::Control, 0);
  for (int byte = 0; byte < 256; ++byte) add(byte_piece(static_cast<uint8_t>(byte)), TokenType::Byte, 0);
  const std::string space(kSpaceSymbol);
  add(space, TokenType::Normal, -1);
  for (char c = 'a'; c <= 'z'; ++c) add(std::string(1, c), TokenType::Normal, -1);
  float score = -2;
  for (const std::string& merge : std::vector<std::string>{space + "t", "th", "he", space + "th", space + "the", "in", space + "a"})
    add(merge, TokenType::Normal, score--);
  vocab.unk = 0;
  vocab.bos = 1;
  vocab.eos = 2;
  return vocab;
}

}  // namespace

const Tokenizer& tiny_tokenizer() {
  static const VocabTokenizer tokenizer(tiny_vocab());
  return tokenizer;
}

const Tokenizer& stories_tokenizer() {
  static const std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(shared_path("stories260K-hf/tokenizer.model"));
  return *tokenizer;
}

std::vector<int32_t> random_ids(std::mt19937& rng, int64_t length, int32_t vocab) {
  std::uniform_int_distribution<int32_t> id(3, vocab - 1);
  std::vector<int32_t> ids(length);
  for (int32_t& x : ids) x = id(rng);
  return ids;
}

std::string random_words(std::mt19937& rng, int words) {
  std::uniform_int_distribution<int> letter('a', 'z'), length(1, 7);
  std::string text;
  for (int w = 0; w < words; ++w) {
    if (w > 0) text += ' ';
    for (int n = length(rng); n > 0; --n) text += static_cast<char>(letter(rng));
  }
  return text;
}

std::vector<int32_t> row_tokens(const TrainBatch& batch, int64_t b) {
  const auto begin = batch.tokens.begin() + b * batch.layout.T;
  return {begin, begin + batch.layout.T};
}

std::vector<int32_t> row_targets(const TrainBatch& batch, int64_t b) {
  const auto begin = batch.targets.begin() + b * batch.layout.T;
  return {begin, begin + batch.layout.T};
}

std::vector<int32_t> concat(std::initializer_list<std::vector<int32_t>> parts) {
  std::vector<int32_t> all;
  for (const auto& part : parts) all.insert(all.end(), part.begin(), part.end());
  return all;
}

}  // namespace ll::test
