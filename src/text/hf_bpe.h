// The BPE model of Hugging Face's tokenizers, step for step (models/bpe/model.rs and word.rs):
// a word is split into characters (each looked up in the vocabulary; missing ones become their
// <0xXX> byte tokens with byte_fallback, else the unknown token, runs of them fused with
// fuse_unk), then merged pair by pair, the merge of lowest rank first and the leftmost on ties,
// with the library's queue of (rank, position) entries and its test for outdated entries, so that
// vocabularies where several merges make the same token (LLaMA-2's) come out the same too.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "text/tokenizer_json.h"

namespace ll {

class HfBpe {
 public:
  // `source` names the file in messages. Expects a spec from read_tokenizer_json (merges checked).
  HfBpe(const BpeSpec& spec, const std::string& source);

  // Appends the ids of `word` (one pre-tokenized piece). Throws InputError when a character is
  // unknown and the unknown token is not in the vocabulary.
  void encode_word(std::string_view word, std::vector<int32_t>& ids) const;

  std::optional<int32_t> id_of(std::string_view token) const;

 private:
  struct Merge {
    uint32_t rank;
    int32_t merged;  // the id of the merged token
  };
  static uint64_t pair_key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }
  // Merges the symbols of one word in place (Word::merge_all).
  void merge_all(std::vector<int32_t>& symbols) const;

  // Lookups by string_view without a copy.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };

  std::string source_;
  std::unordered_map<std::string, int32_t, Hash, std::equal_to<>> ids_;
  std::unordered_map<uint64_t, Merge> merges_;  // (left id, right id) -> merge
  std::optional<std::string> unk_token_;
  std::string continuing_subword_prefix_, end_of_word_suffix_;
  bool fuse_unk_, byte_fallback_, ignore_merges_;
};

}  // namespace ll
