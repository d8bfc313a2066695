// Shared by the text tests: the real tokenizers under ../shared/data, loaded once, and the
// LLaMA-2 reference tokenizations.
#pragma once
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "text/sentencepiece_tokenizer.h"
#include "text/vocab_tokenizer.h"

namespace ll::test {

// Both implementations over one tokenizer.model (relative to shared_data_dir()).
struct TokenizerPair {
  std::unique_ptr<SentencePieceTokenizer> reference;
  std::unique_ptr<VocabTokenizer> ours;
};
const TokenizerPair& llama2_tokenizers();
const TokenizerPair& stories260k_tokenizers();

struct ReferenceTokenization {
  std::string text;
  std::vector<int32_t> ids;  // without BOS
};
// tests/llama2-tokenizer-vectors.inp/.out: each text is followed by "\n__ggml_vocab_test__\n";
// .out holds one line of space-separated ids per text.
std::vector<ReferenceTokenization> llama2_reference_tokenizations();

// Random text mixing pieces of the vocabulary with random Unicode (ASCII, whitespace runs,
// Latin, Cyrillic, CJK, emoji, rare planes), always valid UTF-8.
std::string random_text(std::mt19937& rng, const Vocab& vocab, int parts);
// One code point as UTF-8.
std::string utf8_encode(uint32_t code_point);

}  // namespace ll::test
