// The decoder steps of a tokenizer.json: token strings back to text (tokenizers' decoders/ and
// the decode_chain of byte_level.rs, replace.rs, metaspace.rs), and for streaming which leading
// tokens already have their final text.
#pragma once
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "text/tokenizer_json.h"

namespace ll {

class HfDecoder {
 public:
  // Steps as read_tokenizer_json gives them: ByteLevel, if any, first; not with ByteFallback.
  explicit HfDecoder(std::optional<std::vector<DecoderStep>> steps);

  // The text of `tokens` (special tokens already left out): each step in turn, then the
  // remaining strings joined (with spaces when there is no decoder at all).
  std::string decode(std::vector<std::string> tokens) const;

  // How many leading `tokens` have text that no tokens appended later can change: all but a
  // trailing run of byte tokens (ByteFallback decodes a run as a whole), or all but those whose
  // bytes end inside a character that later bytes may complete (ByteLevel).
  size_t final_prefix(std::span<const std::string_view> tokens) const;

 private:
  enum class Joining { None, ByteLevel, ByteFallback };

  std::optional<std::vector<DecoderStep>> steps_;
  Joining joining_ = Joining::None;
};

}  // namespace ll
