#include "text_test_data.h"

#include <sstream>

#include "support/test_support.h"

namespace ll::test {
namespace {

TokenizerPair load_pair(const std::string& relative_path) {
  const std::string path = shared_path(relative_path);
  TokenizerPair pair;
  pair.reference = SentencePieceTokenizer::from_file(path);
  pair.ours = std::make_unique<VocabTokenizer>(sentencepiece_vocab(*pair.reference));
  return pair;
}

}  // namespace

const TokenizerPair& llama2_tokenizers() {
  static const TokenizerPair pair = load_pair("llama2-tokenizer.model");
  return pair;
}

const TokenizerPair& stories260k_tokenizers() {
  static const TokenizerPair pair = load_pair("stories260K-hf/tokenizer.model");
  return pair;
}

std::vector<ReferenceTokenization> llama2_reference_tokenizations() {
  const std::string texts = read_file(shared_path("tests/llama2-tokenizer-vectors.inp"));
  const std::string lines = read_file(shared_path("tests/llama2-tokenizer-vectors.out"));
  const std::string separator = "\n__ggml_vocab_test__\n";
  std::vector<ReferenceTokenization> result;
  size_t begin = 0;
  for (size_t end; (end = texts.find(separator, begin)) != std::string::npos; begin = end + separator.size())
    result.push_back({texts.substr(begin, end - begin), {}});
  EXPECT_EQ(begin, texts.size()) << "text after the last separator";

  std::istringstream out(lines);
  std::string line;
  size_t index = 0;
  for (; std::getline(out, line); ++index) {
    if (index >= result.size()) {
      ADD_FAILURE() << "more id lines than texts";
      break;
    }
    std::istringstream ids(line);
    for (int32_t id; ids >> id;) result[index].ids.push_back(id);
  }
  EXPECT_EQ(index, result.size()) << "one id line per text";
  return result;
}

std::string utf8_encode(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

std::string random_text(std::mt19937& rng, const Vocab& vocab, int parts) {
  // Code point ranges: ASCII, whitespace, Latin-1 + Latin Extended, Cyrillic, CJK, emoji, and
  // the rest of the BMP and the supplementary planes (surrogates excluded).
  static constexpr std::pair<uint32_t, uint32_t> kRanges[] = {
      {0x20, 0x7E},     {0x09, 0x0D},       {0xA0, 0x24F},   {0x400, 0x4FF},
      {0x4E00, 0x9FFF}, {0x1F300, 0x1FAFF}, {0x80, 0xD7FF},  {0xE000, 0x10FFFF}};
  std::uniform_int_distribution<int> kind(0, 9), range(0, 7), run(1, 4);
  std::uniform_int_distribution<int> any_piece(0, vocab.size() - 1);
  std::string text;
  for (int p = 0; p < parts; ++p) {
    const int k = kind(rng);
    if (k < 5) {  // a vocabulary piece, "▁" read as a space
      const int id = any_piece(rng);
      if (vocab.type(id) != TokenType::Normal) continue;
      std::string piece = vocab.pieces[id];
      for (size_t pos; (pos = piece.find(kSpaceSymbol)) != std::string::npos;)
        piece.replace(pos, kSpaceSymbol.size(), " ");
      text += piece;
    } else if (k < 7) {  // a run of spaces, tabs or newlines
      static constexpr char kWhitespace[] = {' ', ' ', ' ', '\t', '\n'};
      const char c = kWhitespace[std::uniform_int_distribution<int>(0, 4)(rng)];
      text.append(run(rng), c);
    } else {  // random code points
      const auto [lo, hi] = kRanges[range(rng)];
      for (int n = run(rng); n > 0; --n)
        text += utf8_encode(std::uniform_int_distribution<uint32_t>(lo, hi)(rng));
    }
  }
  return text;
}

}  // namespace ll::test
