#include "text/vocab.h"

#include <unordered_set>

#include "core/error.h"

namespace ll {

std::string byte_piece(uint8_t value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  return std::string("<0x") + kHex[value >> 4] + kHex[value & 15] + ">";
}

std::optional<uint8_t> parse_byte_piece(std::string_view piece) {
  // SentencePiece only knows the 256 spellings byte_piece() produces (upper-case hex).
  const auto hex_digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>') return std::nullopt;
  const int high = hex_digit(piece[3]), low = hex_digit(piece[4]);
  if (high < 0 || low < 0) return std::nullopt;
  return static_cast<uint8_t>(high * 16 + low);
}

void validate_vocab(const Vocab& vocab) {
  const std::string where = vocab.source.empty() ? std::string("vocabulary") : vocab.source;
  const size_t n = vocab.pieces.size();
  if (n == 0) fail_input(where, "the vocabulary is empty");
  if (vocab.scores.size() != n)
    fail_expected(where, "scores", std::to_string(n) + " entries (one per piece)",
                  std::to_string(vocab.scores.size()));
  if (vocab.types.size() != n)
    fail_expected(where, "token types", std::to_string(n) + " entries (one per piece)",
                  std::to_string(vocab.types.size()));

  // Like SentencePiece: mergeable pieces (normal, user-defined, unused) must be distinct, and so
  // must the reserved ones (unknown, control, byte).
  std::unordered_set<std::string_view> mergeable, reserved;
  int unknown_id = -1;
  for (size_t id = 0; id < n; ++id) {
    const std::string field = "piece " + std::to_string(id) + " '" + vocab.pieces[id] + "'";
    const int32_t type = vocab.types[id];
    if (type < static_cast<int32_t>(TokenType::Normal) || type > static_cast<int32_t>(TokenType::Byte))
      fail_expected(where, field, "token type 1..6", std::to_string(type));
    if (vocab.pieces[id].empty()) fail_input(where, field + ": empty piece");
    const auto kind = static_cast<TokenType>(type);
    if (kind == TokenType::Byte && !parse_byte_piece(vocab.pieces[id]))
      fail_expected(where, field, "a byte piece spelled <0xXX>", "'" + vocab.pieces[id] + "'");
    if (kind == TokenType::Unknown) {
      if (unknown_id >= 0)
        fail_input(where, field + ": a second unknown piece (the first is " +
                              std::to_string(unknown_id) + ")");
      unknown_id = static_cast<int>(id);
    }
    const bool is_mergeable = kind == TokenType::Normal || kind == TokenType::UserDefined ||
                              kind == TokenType::Unused;
    if (!(is_mergeable ? mergeable : reserved).insert(vocab.pieces[id]).second)
      fail_input(where, field + ": duplicate piece");
  }
  if (unknown_id < 0) fail_input(where, "no piece has the unknown type (2)");
  if (vocab.unk != unknown_id)
    fail_expected(where, "unknown token id", std::to_string(unknown_id) + " (the unknown piece)",
                  std::to_string(vocab.unk));
  const auto check_special = [&](const char* name, int id) {
    if (id < -1 || id >= static_cast<int>(n))
      fail_expected(where, name, "-1 or an id below " + std::to_string(n), std::to_string(id));
  };
  check_special("bos token id", vocab.bos);
  check_special("eos token id", vocab.eos);
}

}  // namespace ll
