// A tiny SentencePiece-style vocabulary built in code (control and unknown pieces, the 256 byte
// pieces, "▁" and a few merges), so the data targets can tokenize without a tokenizer file (and
// tests can write it out as a tokenizer.model: serialize_sentencepiece_model(small_tokenizer().vocab())).
#pragma once
#include "text/vocab_tokenizer.h"

namespace ll::fuzz {

const VocabTokenizer& small_tokenizer();

}  // namespace ll::fuzz
