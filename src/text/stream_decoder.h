// Incremental detokenisation for printing generated text as it arrives. Each push() returns
// only newly completed text: bytes of a character still being spelled out by byte tokens are
// held back until the character is complete (or turns out malformed), and the leading space of
// a piece is kept or dropped exactly as Tokenizer::decode() would for the whole sequence. The
// concatenation of everything returned by push() and finish() equals decode(all ids).
//
// Only a short window of ids is decoded per push (from the last plain piece on), so the cost
// does not grow with the length of the sequence.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "text/tokenizer.h"

namespace ll {

class StreamingDecoder {
 public:
  // `context`: ids already shown (e.g. the prompt); they set the state but are not returned.
  explicit StreamingDecoder(const Tokenizer& tokenizer, std::span<const int32_t> context = {});

  std::string push(int32_t id);  // throws InputError for an id outside the vocabulary
  // The end of the sequence: whatever is still held back (an unfinished character, decoded
  // as U+FFFD per byte). Push nothing after it.
  std::string finish();

 private:
  // Text of window_[0, end) beyond what has been accounted for; advances the account.
  std::string take_new_text(size_t end);

  const Tokenizer& tokenizer_;
  std::vector<int32_t> window_;  // ids still needed to decode what follows
  size_t window_text_done_ = 0;  // bytes of decode(window_) already returned or context
  bool context_free_ = false;    // window_[0] is an anchor: decode(window_) = its text + the rest
};

}  // namespace ll
