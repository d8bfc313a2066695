// UTF-8 with SentencePiece's (and Unicode's) notion of validity: shortest form only, no
// surrogates, nothing above U+10FFFF. The tokenizers and the streaming decoder use these rules, so
// malformed input is replaced and decoded byte runs are repaired exactly the way SentencePiece
// (per byte) or Hugging Face's tokenizers (per maximal subpart, append_lossy) do it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
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

// Appends `bytes` to `out` with each maximal malformed subpart replaced by one U+FFFD (Unicode's
// recommended practice, as Rust's String::from_utf8_lossy and Python's errors="replace" do it;
// SentencePiece instead replaces each malformed byte).
void append_lossy(std::string& out, std::string_view bytes);

// Whether all of `s` is well-formed.
bool is_valid(std::string_view s);

// The code point of the well-formed character `c` (valid_char_length(c) == c.size()).
uint32_t code_point(std::string_view c);
// Appends the UTF-8 form of a Unicode scalar value.
void append_code_point(std::string& out, uint32_t code_point);

}  // namespace ll::utf8
