// A SentencePiece-style vocabulary as plain data: what tokenizer.model and GGUF's `llama`
// vocab (tokenizer.ggml.*) both describe, and all that VocabTokenizer needs.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ll {

// Piece types, numbered as in SentencePiece's ModelProto and GGUF's tokenizer.ggml.token_type.
enum class TokenType : int32_t {
  Normal = 1,
  Unknown = 2,
  Control = 3,       // <s>, </s>: never produced from text, decoded as nothing
  UserDefined = 4,   // always kept whole when it occurs in text, never merged with neighbours
  Unused = 5,        // may appear inside BPE merges but is re-split into its parts
  Byte = 6,          // <0xXX>: byte fallback for characters missing from the vocabulary
};

// "▁" (U+2581): SentencePiece's visible stand-in for a space.
inline constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";

struct Vocab {
  std::vector<std::string> pieces;
  std::vector<float> scores;   // BPE merge priority: higher merges first
  std::vector<int32_t> types;  // TokenType values
  int bos = -1, eos = -1, unk = -1;  // -1: none
  bool add_dummy_prefix = true;      // encode "x" as "▁x" (LLaMA)
  std::string source;                // the file it came from, for error messages

  int size() const { return static_cast<int>(pieces.size()); }
  TokenType type(int id) const { return static_cast<TokenType>(types[id]); }
};

// Throws InputError naming vocab.source and the offending field unless the vocabulary is
// usable: equal array lengths, known types, byte pieces spelled <0xXX>, no duplicate
// mergeable pieces, bos/eos/unk in range with the right types, exactly one unknown piece.
void validate_vocab(const Vocab& vocab);

// "<0x0A>" for 10.
std::string byte_piece(uint8_t value);
// 10 for "<0x0A>"; nothing when `piece` is not spelled like a byte piece.
std::optional<uint8_t> parse_byte_piece(std::string_view piece);

}  // namespace ll
