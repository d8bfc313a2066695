// The pre-tokenizer regular expressions of the tokenizer.json files people use, as hand-written
// scanners (longlora has no general regex engine): each is recognised by its exact pattern string
// and splits text exactly as Oniguruma (the engine of Hugging Face's tokenizers) matches it.
//   Gpt2    's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//           (ByteLevel's own pattern, used when its use_regex is true)
//   Llama3  (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
//           \s*[\r\n]+|\s+(?!\S)|\s+   (GPT-4's cl100k pattern; Llama 3's Split)
//   Qwen2   as Llama3 with \p{N} instead of \p{N}{1,3}
#pragma once
#include <optional>
#include <string_view>
#include <vector>

namespace ll {

enum class SplitPattern { Gpt2, Llama3, Qwen2 };

// The pattern `regex` spells; nothing when it is none of the above.
std::optional<SplitPattern> recognize_split_pattern(std::string_view regex);
// The pattern's regex text.
std::string_view split_pattern_regex(SplitPattern pattern);

// `text` (well-formed UTF-8) cut into consecutive pieces: every match of the pattern and every
// gap between matches ("Isolated"). Empty text gives no pieces.
std::vector<std::string_view> split_by_pattern(SplitPattern pattern, std::string_view text);

}  // namespace ll
