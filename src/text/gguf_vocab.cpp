#include "text/gguf_vocab.h"

#include "core/error.h"

namespace ll {

Vocab load_gguf_vocab(const GgufFile& gguf) {
  const std::string model = gguf.get_string("tokenizer.ggml.model");
  if (model != "llama")
    fail_expected(gguf.path(), "tokenizer.ggml.model", "'llama' (a SentencePiece BPE vocabulary)",
                  "'" + model + "'");
  Vocab vocab;
  vocab.source = gguf.path();
  vocab.pieces = gguf.get_string_array("tokenizer.ggml.tokens");
  vocab.scores = gguf.get_f32_array("tokenizer.ggml.scores");
  vocab.types = gguf.get_i32_array("tokenizer.ggml.token_type");
  // The ids are u32 in the file; anything beyond the vocabulary fails validation below.
  const auto special_id = [&](const std::string& key, uint32_t fallback) {
    const uint32_t id = gguf.get_u32(key, fallback);
    if (id >= vocab.pieces.size())
      fail_expected(gguf.path(), key, "an id below the vocabulary size " + std::to_string(vocab.pieces.size()),
                    std::to_string(id));
    return static_cast<int>(id);
  };
  vocab.bos = special_id("tokenizer.ggml.bos_token_id", 1);
  vocab.eos = special_id("tokenizer.ggml.eos_token_id", 2);
  vocab.unk = special_id("tokenizer.ggml.unknown_token_id", 0);
  vocab.add_dummy_prefix = gguf.get_bool("tokenizer.ggml.add_space_prefix", true);
  validate_vocab(vocab);
  return vocab;
}

}  // namespace ll
