// A tokenizer.json (Hugging Face's fast tokenizers) run the way the `tokenizers` library runs it
// (tokenizer/mod.rs), for BPE models: byte-level BPE as Llama 3, Qwen2 and GPT-2 ship it, and the
// SentencePiece-style BPE with byte fallback of LLaMA-2's and Mistral's tokenizer.json.
//   encode   added tokens that are not `normalized` are cut out of the raw text; each remaining
//            piece is normalised, the `normalized` added tokens cut out of it, the rest
//            pre-tokenized into words, and each word encoded by the BPE model (hf_bpe.h).
//            Malformed UTF-8 is first replaced per maximal subpart (Python's errors="replace").
//   BOS/EOS  BOS is the one token the post-processor's template puts before the text (none for
//            Qwen2: then add_bos adds nothing); EOS is tokenizer_config.json's eos_token when that
//            file lies beside tokenizer.json, else the one token the template puts after the text.
//   decode   special added tokens are skipped (skip_special_tokens=True), the other tokens' strings
//            go through the decoder steps (hf_decoder.h).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "text/added_tokens.h"
#include "text/hf_bpe.h"
#include "text/hf_decoder.h"
#include "text/tokenizer.h"
#include "text/tokenizer_json.h"

namespace ll {

class HfTokenizer final : public Tokenizer {
 public:
  // Throws InputError naming the file (or tokenizer_config.json) and field when it cannot be used.
  static std::unique_ptr<HfTokenizer> from_file(const std::string& path);
  explicit HfTokenizer(TokenizerJson spec);

  size_t final_prefix(std::span<const int32_t> ids) const override;

 private:
  struct SpecialIds {
    int vocab_size, bos, eos;
    bool no_bos;
  };
  HfTokenizer(const SpecialIds& special, TokenizerJson&& spec);
  static SpecialIds special_ids(const TokenizerJson& spec);

  std::vector<int32_t> encode_text(std::string_view text) const override;
  std::string decode_ids(std::span<const int32_t> ids) const override;
  const std::string& piece_unchecked(int id) const override { return pieces_[id]; }
  TokenType token_type_unchecked(int id) const override { return types_[id]; }

  const TokenizerJson spec_;
  HfBpe bpe_;
  HfDecoder decoder_;
  AddedTokenFinder raw_tokens_, normalized_tokens_;  // added tokens found before / after normalising
  std::vector<std::string> pieces_;                  // the token string of each id
  std::vector<TokenType> types_;                     // Control: special added token; UserDefined: other added token
};

}  // namespace ll
