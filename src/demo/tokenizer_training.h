// A SentencePiece BPE tokenizer trained by the SentencePiece library, set up the way LLaMA's
// tokenizer.model is (byte fallback, digits split, identity normalisation, dummy prefix, spaces
// kept, ids unk 0 / BOS 1 / EOS 2), so longlora's own tokenizer reproduces it exactly.
#pragma once
#include <string>

namespace ll::demo {

// Trains on `input_text` (one sentence per line) and writes `model_path` atomically.
void train_bpe_tokenizer(const std::string& input_text, const std::string& model_path, int vocab_size, int threads);

}  // namespace ll::demo
