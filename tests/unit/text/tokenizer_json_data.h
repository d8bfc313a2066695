// tokenizer.json documents built in the tests (no Python needed): a small byte-level BPE shaped
// like Llama 3's, and the SentencePiece-style form of LLaMA-2's made from a Vocab the way
// transformers' LlamaConverter makes it.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "text/vocab.h"

namespace ll::test {

// Byte-level BPE: the 256 byte characters (ids 0..255 in byte order), then one token per merge
// (ids from 256, in rank order); `merges` are pairs of raw byte strings. Pre-tokenizer: Llama 3's
// Split + ByteLevel; decoder ByteLevel; added special tokens "<|bos|>", "<|eos|>" after the
// vocabulary, "<|bos|>" put before the text by TemplateProcessing.
nlohmann::json byte_level_tokenizer_json(const std::vector<std::pair<std::string, std::string>>& merges);

// LLaMA-2's tokenizer.json for a SentencePiece BPE vocabulary: Prepend("▁") + Replace(" " -> "▁"),
// BPE with byte fallback and fuse_unk, merges from every split of every piece ordered by the
// piece's score (transformers' SentencePieceExtractor), the control and unknown pieces as special
// added tokens, BOS by TemplateProcessing, decoder Replace / ByteFallback / Fuse / Strip.
nlohmann::json sentencepiece_style_tokenizer_json(const Vocab& vocab);

// The byte-level spelling of raw bytes ("Ġ" for a space).
std::string byte_level_spelling(const std::string& bytes);

}  // namespace ll::test
