// tokenizer.json, the file of Hugging Face's `tokenizers` library ("fast" tokenizers), read into
// plain data. Every field is checked, and every part that longlora does not implement is refused,
// with an InputError naming the file and the field. What is read (all BPE; sequences flattened):
//   added_tokens    with their flags
//   normalizer      NFC, NFD, NFKC, NFKD, Prepend, Replace (literal pattern), Sequence
//   pre_tokenizer   Split (Isolated, one of the patterns of split_patterns.h), ByteLevel,
//                   Metaspace, Sequence
//   model           BPE: vocab, merges (either form), unk_token, fuse_unk, byte_fallback,
//                   ignore_merges, continuing_subword_prefix, end_of_word_suffix
//   post_processor  the tokens TemplateProcessing puts around a single text; ByteLevel (offsets
//                   only), Sequence
//   decoder         ByteLevel, Replace (literal), ByteFallback, Fuse, Strip, Metaspace, Sequence
// truncation and padding are accepted and ignored (transformers ignores them too unless asked).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "text/split_patterns.h"

namespace ll {

struct AddedTokenSpec {
  int32_t id = 0;
  std::string content;
  bool special = false;     // skipped when decoding
  bool normalized = false;  // matched in the normalised text, else in the raw text
  bool single_word = false, lstrip = false, rstrip = false;
};

enum class PrependScheme { Always, First, Never };  // Metaspace: where "▁" is put before a piece

struct NormalizerStep {
  enum class Kind { Nfc, Nfd, Nfkc, Nfkd, Prepend, Replace };
  Kind kind = Kind::Nfc;
  std::string pattern{};  // Prepend: the prefix; Replace: the literal text replaced
  std::string content{};  // Replace: its replacement
};

struct PreTokenizerStep {
  enum class Kind { Split, ByteLevel, Metaspace };
  Kind kind = Kind::Split;
  SplitPattern pattern = SplitPattern::Gpt2;             // Split
  bool add_prefix_space = false, use_regex = false;      // ByteLevel
  std::string replacement{};                             // Metaspace: one character
  PrependScheme prepend_scheme = PrependScheme::Always;  // Metaspace
  bool split = false;                                    // Metaspace: split at each replacement
};

struct BpeSpec {
  std::vector<std::string> vocab;  // by id: ids 0..n-1 (the added tokens that are not in it follow)
  std::vector<std::pair<std::string, std::string>> merges;  // by rank
  std::optional<std::string> unk_token;
  std::string continuing_subword_prefix, end_of_word_suffix;  // "" when null
  bool fuse_unk = false, byte_fallback = false, ignore_merges = false;
};

struct DecoderStep {
  enum class Kind { ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace };
  Kind kind = Kind::ByteLevel;
  // Replace: the literal `pattern` becomes `content`. Strip: `content` is the character stripped.
  // Metaspace: `pattern` is the replacement character.
  std::string pattern{}, content{};
  size_t start = 0, stop = 0;                            // Strip: at most this many from the start / the end
  PrependScheme prepend_scheme = PrependScheme::Always;  // Metaspace
};

struct TokenizerJson {
  std::string source;  // the file, for messages
  std::vector<AddedTokenSpec> added_tokens;
  std::vector<NormalizerStep> normalizer;
  std::vector<PreTokenizerStep> pre_tokenizer;
  BpeSpec model;
  std::optional<std::vector<DecoderStep>> decoder;  // none: tokens are joined with spaces
  // What the post-processor puts before and after a single text (add_special_tokens=True).
  std::vector<int32_t> template_prefix, template_suffix;
  // tokenizer_config.json beside the file (transformers' settings): its eos_token, if any.
  std::optional<std::string> eos_token;
  std::string eos_source;  // where eos_token came from, for messages
};

// Reads `path` and the tokenizer_config.json in the same directory, when there is one.
TokenizerJson read_tokenizer_json(const std::string& path);
// The tokenizer.json document `text`; `source` names it in messages.
TokenizerJson parse_tokenizer_json(std::string_view text, const std::string& source);

}  // namespace ll
