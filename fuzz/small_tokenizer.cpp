#include "small_tokenizer.h"

namespace ll::fuzz {

const VocabTokenizer& small_tokenizer() {
  static const VocabTokenizer tokenizer = [] {
    Vocab v;
    v.source = "fuzz vocabulary";
    auto add = [&](const std::string& piece, TokenType type, float score) {
      v.pieces.push_back(piece);
      v.types.push_back(static_cast<int32_t>(type));
      v.scores.push_back(score);
    };
    add("<unk>", TokenType::Unknown, 0);
    add("<s>", TokenType::Control, 0);
    add("</s>", TokenType::Control, 0);
    for (int b = 0; b < 256; ++b) add(byte_piece(static_cast<uint8_t>(b)), TokenType::Byte, 0);
    const std::string space(kSpaceSymbol);
    float score = -1;
    for (const char* piece : {"e", "t", "a", "o", "h", "n", "he", "th", "the", "an"}) add(piece, TokenType::Normal, score--);
    add(space, TokenType::Normal, score--);
    add(space + "t", TokenType::Normal, score--);
    add(space + "the", TokenType::Normal, score--);
    v.unk = 0;
    v.bos = 1;
    v.eos = 2;
    return VocabTokenizer(std::move(v));
  }();
  return tokenizer;
}

}  // namespace ll::fuzz
