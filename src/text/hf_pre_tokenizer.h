// The pre-tokenizer steps of a tokenizer.json: one normalised piece of text cut into the words
// that the BPE model encodes one by one (tokenizers' pre_tokenizers/: split.rs, byte_level.rs,
// metaspace.rs, sequence.rs).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "text/tokenizer_json.h"

namespace ll {

// The words of `text` (well-formed UTF-8) after each step in turn; empty words are left out.
// `at_text_start`: the piece begins the whole text (Metaspace's prepend_scheme "first").
std::vector<std::string> pre_tokenize(const std::vector<PreTokenizerStep>& steps, std::string_view text,
                                      bool at_text_start);

}  // namespace ll
