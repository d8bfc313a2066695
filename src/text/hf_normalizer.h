// The normalizer steps of a tokenizer.json applied to one piece of text (tokenizers'
// normalizers/: unicode.rs, prepend.rs, replace.rs).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "text/tokenizer_json.h"

namespace ll {

// `text` (well-formed UTF-8) after each step in turn.
std::string normalize_text(const std::vector<NormalizerStep>& steps, std::string_view text);

// `text` with every occurrence of the non-empty `pattern` replaced, left to right, without overlaps.
std::string replace_all(std::string_view text, std::string_view pattern, std::string_view content);

}  // namespace ll
