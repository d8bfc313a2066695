#include "text/stream_decoder.h"

#include "core/error.h"

namespace ll {

StreamingDecoder::StreamingDecoder(const Tokenizer& tokenizer, std::span<const int32_t> context)
    : tokenizer_(tokenizer) {
  for (int32_t id : context) push(id);
}

std::string StreamingDecoder::push(int32_t id) {
  const TokenType type = tokenizer_.token_type(id);  // also rejects ids outside the vocabulary
  window_.push_back(id);
  const size_t settled = tokenizer_.final_prefix(window_);
  std::string new_text = take_new_text(settled);

  // Start a new window at this id when it can serve as the anchor: everything before it is
  // settled by itself, and it decodes on its own to visible, final text, so that decoding
  // window_ continues exactly like decoding the whole sequence (no dummy-prefix space left to
  // drop, no byte run or character cut in half). Before the first visible text the whole
  // sequence stays in the window.
  const int32_t anchor[] = {id};
  if (settled == window_.size() && type != TokenType::Byte && type != TokenType::Control &&
      (context_free_ || window_text_done_ > 0) &&
      tokenizer_.final_prefix(std::span<const int32_t>(window_).first(window_.size() - 1)) == window_.size() - 1 &&
      tokenizer_.final_prefix(anchor) == 1) {
    const size_t anchor_text = tokenizer_.decode(anchor).size();
    if (anchor_text > 0) {
      window_.assign(anchor, anchor + 1);
      window_text_done_ = anchor_text;
      context_free_ = true;
    }
  }
  return new_text;
}

std::string StreamingDecoder::finish() { return take_new_text(window_.size()); }

std::string StreamingDecoder::take_new_text(size_t end) {
  const std::string text = tokenizer_.decode(std::span<const int32_t>(window_).first(end));
  LL_CHECK(text.size() >= window_text_done_);  // decoding a longer prefix only appends
  std::string new_text = text.substr(window_text_done_);
  window_text_done_ = text.size();
  return new_text;
}

}  // namespace ll
