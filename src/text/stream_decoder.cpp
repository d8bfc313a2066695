#include "text/stream_decoder.h"

#include "core/error.h"
#include "text/utf8.h"

namespace ll {

StreamingDecoder::StreamingDecoder(const Tokenizer& tokenizer, std::span<const int32_t> context)
    : tokenizer_(tokenizer) {
  for (int32_t id : context) push(id);
}

std::string StreamingDecoder::push(int32_t id) {
  const TokenType type = tokenizer_.token_type(id);  // also rejects ids outside the vocabulary
  window_.push_back(id);
  const size_t settled = settled_prefix();
  std::string new_text = take_new_text(settled);

  // Start a new window at this id when it can serve as the anchor: everything before it is
  // settled, and it decodes on its own to visible text, so that decoding window_ continues
  // exactly like decoding the whole sequence (no dummy-prefix space left to drop, no byte run
  // cut in half). Before the first visible text the whole sequence stays in the window.
  if (settled == window_.size() && type != TokenType::Byte && type != TokenType::Control &&
      (context_free_ || window_text_done_ > 0)) {
    const int32_t anchor[] = {id};
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

size_t StreamingDecoder::settled_prefix() const {
  // Only a trailing run of byte tokens can still change: its last character may be incomplete.
  size_t run_begin = window_.size();
  while (run_begin > 0 && tokenizer_.token_type(window_[run_begin - 1]) == TokenType::Byte) --run_begin;
  std::string bytes;
  for (size_t i = run_begin; i < window_.size(); ++i)
    bytes.push_back(static_cast<char>(*parse_byte_piece(tokenizer_.piece(window_[i]))));
  // Walk the run like the decoder does; stop at a character that more bytes could complete.
  std::string_view rest(bytes);
  while (!rest.empty()) {
    const size_t length = utf8::valid_char_length(rest);
    if (length == 0 && utf8::is_unfinished_char(rest)) break;
    rest.remove_prefix(length > 0 ? length : 1);  // a malformed byte is final: U+FFFD
  }
  return window_.size() - rest.size();  // one byte per byte token
}

std::string StreamingDecoder::take_new_text(size_t end) {
  const std::string text = tokenizer_.decode(std::span<const int32_t>(window_).first(end));
  LL_CHECK(text.size() >= window_text_done_);  // decoding a longer prefix only appends
  std::string new_text = text.substr(window_text_done_);
  window_text_done_ = text.size();
  return new_text;
}

}  // namespace ll
