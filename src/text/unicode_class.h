// The Unicode facts the tokenizer.json pipeline needs, from ICU: general categories and
// properties as regular expressions use them (\p{L}, \p{N}, \s, \w) and the normalisation forms.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace ll::unicode {

bool is_letter(uint32_t code_point);       // \p{L}: Lu Ll Lt Lm Lo
bool is_number(uint32_t code_point);       // \p{N}: Nd Nl No
bool is_white_space(uint32_t code_point);  // \s: the White_Space property
bool is_word(uint32_t code_point);         // \w: Alphabetic, marks, Nd, Pc, Join_Control

enum class NormalForm { Nfc, Nfd, Nfkc, Nfkd };
// `text` (well-formed UTF-8) in the normal form.
std::string normalize(std::string_view text, NormalForm form);

}  // namespace ll::unicode
