// Our SentencePiece-BPE over a Vocab (for the `llama` vocabulary inside GGUF files). It gives
// the same ids and text as libsentencepiece on the same vocabulary:
//   normalise  LLaMA's rules: "▁" prepended (add_dummy_prefix), each space -> "▁", nothing
//              collapsed, each malformed UTF-8 byte -> U+FFFD;
//   split      into characters, user-defined pieces kept whole (longest match);
//   merge      repeatedly the adjacent pair whose concatenation is the highest-scoring piece,
//              the leftmost on ties (a priority queue over a linked list: O(n log n));
//              between two characters that never stand side by side inside a piece no merge
//              can happen, so the text is cut there into chunks (about words) that are merged
//              independently and looked up in a per-call cache once seen;
//   emit       unused pieces split back into the pieces they were merged from, characters
//              missing from the vocabulary as their UTF-8 bytes <0xXX> (or <unk> when the
//              vocabulary has no byte pieces). Control and unknown pieces never come from text.
#pragma once
#include <array>
#include <string>
#include <unordered_map>

#include "text/char_pair_set.h"
#include "text/prefix_matcher.h"
#include "text/tokenizer.h"

namespace ll {

class VocabTokenizer final : public Tokenizer {
 public:
  explicit VocabTokenizer(Vocab vocab);  // throws InputError unless validate_vocab() passes
  const Vocab& vocab() const { return vocab_; }

 private:
  std::vector<int32_t> encode_text(std::string_view text) const override;
  std::string decode_ids(std::span<const int32_t> ids) const override;
  const std::string& piece_unchecked(int id) const override { return vocab_.pieces[id]; }
  TokenType token_type_unchecked(int id) const override { return vocab_.type(id); }

  std::string normalize(std::string_view text) const;
  // Appends the ids of `text` (normalised): split, merge, emit.
  void encode_normalized(std::string_view text, std::vector<int32_t>& ids) const;
  // encode_normalized() chunk by chunk; the same result when the vocabulary has no unused pieces.
  void encode_in_chunks(std::string_view text, std::vector<int32_t>& ids) const;
  // Appends the ids for one final BPE symbol; `unused_parts` says how unused pieces were formed.
  using MergeHistory = std::unordered_map<std::string_view, std::pair<std::string_view, std::string_view>>;
  void emit_symbol(std::string_view symbol, const MergeHistory& unused_parts,
                   std::vector<int32_t>& ids, bool& previous_was_unknown) const;

  const Vocab vocab_;  // the views below point into its pieces
  std::unordered_map<std::string_view, int32_t> mergeable_;  // normal, user-defined, unused
  PrefixMatcher user_defined_;
  CharPairSet joinable_;         // adjacent characters inside some mergeable piece
  bool has_unused_ = false;      // unused pieces: their re-split depends on the whole text
  bool byte_fallback_ = false;    // the vocabulary has byte pieces
  std::array<int32_t, 256> byte_ids_;  // the id of <0xXX>; unk when missing
};

}  // namespace ll
