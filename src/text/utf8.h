// UTF-8 with SentencePiece's notion of validity: shortest form only, no surrogates, nothing
// above U+10FFFF. Both tokenizers and the streaming decoder use these rules, so malformed
// input is replaced and decoded byte runs are repaired exactly the way SentencePiece does it.
#pragma once
#include <cstddef>
#include <string_view>

namespace ll::utf8 {

// U+FFFD REPLACEMENT CHARACTER: stands for one malformed byte.
inline constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Length (1..4) of the well-formed character at the start of `s`; 0 when `s` is empty or
// starts with a malformed sequence (including one cut short by the end of `s`).
size_t valid_char_length(std::string_view s);

// True when `s` is shorter than the character its first byte announces and its bytes so far
// are lead + continuation bytes, i.e. appending bytes could still complete a character.
bool is_unfinished_char(std::string_view s);

}  // namespace ll::utf8
