// The SentencePiece-style vocabulary GGUF files carry for LLaMA models (tokenizer.ggml.*).
#pragma once
#include "formats/gguf.h"
#include "text/vocab.h"

namespace ll {

// Reads tokenizer.ggml.model (must be "llama"), .tokens, .scores, .token_type,
// .bos_token_id / .eos_token_id / .unknown_token_id (default 1 / 2 / 0, as llama.cpp) and
// .add_space_prefix (default true). Throws InputError naming the file and key when something
// is missing or inconsistent.
Vocab load_gguf_vocab(const GgufFile& gguf);

}  // namespace ll
