// Finding the added tokens of a tokenizer.json in text, as Hugging Face's tokenizers does before
// anything else (tokenizer/added_vocabulary.rs): the leftmost, then longest, occurrence of any
// token, its flags applied (single_word: only between non-word characters; lstrip / rstrip: the
// whitespace before / after it belongs to it). Tokens that are not `normalized` are found in the
// raw text, the others in each remaining piece after normalisation.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "text/prefix_matcher.h"
#include "text/tokenizer_json.h"

namespace ll {

class AddedTokenFinder {
 public:
  AddedTokenFinder() = default;
  // The tokens to look for, each with the text it is found as (normalised already for the
  // normalized ones). Of two tokens found as the same text, the first added is taken.
  void add(const AddedTokenSpec& token, std::string_view text);
  bool empty() const { return matcher_.empty(); }

  struct Piece {
    std::string_view text;
    int32_t id;  // the added token; -1 for text between tokens
  };
  // `text` cut into added tokens and the text between them (every part, in order; an empty text
  // is one empty piece).
  std::vector<Piece> split(std::string_view text) const;

 private:
  PrefixMatcher matcher_;
  std::unordered_map<std::string, AddedTokenSpec> tokens_;  // by the text they are found as
};

}  // namespace ll
