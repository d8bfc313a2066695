#include "text/vocab_tokenizer.h"

#include <algorithm>

#include "core/error.h"
#include "text/utf8.h"

namespace ll {
namespace {

Vocab validated(Vocab vocab) {
  validate_vocab(vocab);
  return vocab;
}

// SentencePiece's stand-in for the text of an unknown token.
constexpr std::string_view kUnknownSurface = " \xE2\x81\x87 ";  // " ⁇ "

// The longest text encoded in one call: symbol offsets are 32-bit, and the normalised text is
// at most three times the input (each malformed byte becomes a 3-byte U+FFFD).
constexpr size_t kMaxTextBytes = size_t{512} << 20;

// One symbol of the normalised text: a byte range, linked to its neighbours. Merging the
// symbol on the right into this one extends the range; the absorbed one becomes empty.
struct Symbol {
  uint32_t begin, size;
  int32_t prev, next;  // -1 at the ends
  bool frozen;         // a user-defined piece: never merged
};

// A candidate merge of two adjacent symbols into a vocabulary piece.
struct Candidate {
  float score;    // of the merged piece
  int32_t left, right;
  uint32_t size;  // of the merged piece; stale candidates no longer match it
};

// Highest score first; on ties the leftmost pair (SentencePiece's order).
bool before(const Candidate& a, const Candidate& b) {
  return a.score > b.score || (a.score == b.score && a.left < b.left);
}

// The merge agenda: a 4-ary heap ordered by before(). Long texts queue millions of candidates;
// four children side by side halve the depth and the cache misses of a binary heap.
class MergeQueue {
 public:
  bool empty() const { return heap_.empty(); }
  const Candidate& top() const { return heap_.front(); }

  void push(const Candidate& c) {
    size_t i = heap_.size();
    heap_.push_back(c);
    while (i > 0) {
      const size_t parent = (i - 1) / 4;
      if (!before(c, heap_[parent])) break;
      heap_[i] = heap_[parent];
      i = parent;
    }
    heap_[i] = c;
  }

  void pop() {
    const Candidate last = heap_.back();
    heap_.pop_back();
    const size_t n = heap_.size();
    if (n == 0) return;
    size_t i = 0;
    for (;;) {
      const size_t first_child = 4 * i + 1;
      if (first_child >= n) break;
      size_t best = first_child;
      const size_t end = std::min(first_child + 4, n);
      for (size_t child = first_child + 1; child < end; ++child)
        if (before(heap_[child], heap_[best])) best = child;
      if (!before(heap_[best], last)) break;
      heap_[i] = heap_[best];
      i = best;
    }
    heap_[i] = last;
  }

 private:
  std::vector<Candidate> heap_;
};

}  // namespace

VocabTokenizer::VocabTokenizer(Vocab vocab)
    : Tokenizer(vocab.source, vocab.size(), vocab.bos, vocab.eos), vocab_(validated(std::move(vocab))) {
  byte_ids_.fill(vocab_.unk);
  for (int id = 0; id < vocab_.size(); ++id) {
    switch (vocab_.type(id)) {
      case TokenType::UserDefined:
        user_defined_.add(vocab_.pieces[id]);
        [[fallthrough]];
      case TokenType::Normal:
      case TokenType::Unused:
        mergeable_.emplace(vocab_.pieces[id], id);
        has_unused_ |= vocab_.type(id) == TokenType::Unused;
        break;
      case TokenType::Byte:
        byte_fallback_ = true;
        byte_ids_[*parse_byte_piece(vocab_.pieces[id])] = id;
        break;
      case TokenType::Unknown:
      case TokenType::Control:
        break;
    }
  }
  for (const auto& [piece, id] : mergeable_) {
    // A piece that is not well-formed UTF-8 can never be merged from characters: skip it.
    std::string_view previous, rest = piece;
    std::vector<std::pair<std::string_view, std::string_view>> pairs;
    while (!rest.empty()) {
      const size_t length = utf8::valid_char_length(rest);
      if (length == 0) break;
      if (!previous.empty()) pairs.emplace_back(previous, rest.substr(0, length));
      previous = rest.substr(0, length);
      rest.remove_prefix(length);
    }
    if (rest.empty())
      for (const auto& [first, second] : pairs) joinable_.add(first, second);
  }
}

std::string VocabTokenizer::normalize(std::string_view text) const {
  std::string normalized;
  if (text.empty()) return normalized;  // no dummy prefix for empty text
  normalized.reserve(text.size() + text.size() / 4 + kSpaceSymbol.size());
  if (vocab_.add_dummy_prefix) normalized += kSpaceSymbol;
  while (!text.empty()) {
    const size_t length = utf8::valid_char_length(text);
    if (length == 0) {
      normalized += utf8::kReplacement;
      text.remove_prefix(1);
      continue;
    }
    if (text[0] == ' ')
      normalized += kSpaceSymbol;
    else
      normalized.append(text.substr(0, length));
    text.remove_prefix(length);
  }
  return normalized;
}

std::vector<int32_t> VocabTokenizer::encode_text(std::string_view text) const {
  if (text.size() > kMaxTextBytes)
    fail_input(source(), "a text of " + std::to_string(text.size()) +
                             " bytes is too long to encode at once (at most " +
                             std::to_string(kMaxTextBytes) + "); encode it in parts");
  const std::string normalized = normalize(text);
  std::vector<int32_t> ids;
  ids.reserve(normalized.size() / 3);
  // How an unused piece is split back depends on merges anywhere in the text (SentencePiece
  // keeps the last split recorded for that piece), so such vocabularies are merged as a whole.
  if (has_unused_)
    encode_normalized(normalized, ids);
  else
    encode_in_chunks(normalized, ids);
  return ids;
}

void VocabTokenizer::encode_in_chunks(std::string_view text, std::vector<int32_t>& ids) const {
  // Chunk text -> its ids, stored as a range of `cached_ids`.
  std::unordered_map<std::string_view, std::pair<size_t, size_t>> cache;
  std::vector<int32_t> cached_ids;
  const auto encode_chunk = [&](size_t begin, size_t end) {
    if (begin == end) return;
    const std::string_view chunk = text.substr(begin, end - begin);
    auto [entry, is_new] = cache.try_emplace(chunk);
    if (is_new) {
      const size_t first = cached_ids.size();
      encode_normalized(chunk, cached_ids);
      entry->second = {first, cached_ids.size()};
    }
    auto [first, last] = entry->second;
    // Without byte fallback a run of unknown characters is one <unk>, across chunks too.
    if (!byte_fallback_ && first < last && cached_ids[first] == vocab_.unk && !ids.empty() &&
        ids.back() == vocab_.unk)
      ++first;
    ids.insert(ids.end(), cached_ids.begin() + first, cached_ids.begin() + last);
  };

  size_t chunk_begin = 0;
  std::string_view previous;  // the character before `pos`; empty after a user-defined piece
  for (size_t pos = 0; pos < text.size();) {
    const std::string_view rest = text.substr(pos);
    if (const size_t user_defined = user_defined_.empty() ? 0 : user_defined_.longest_match(rest)) {
      // Never merged: a chunk of its own.
      encode_chunk(chunk_begin, pos);
      encode_chunk(pos, pos + user_defined);
      pos += user_defined;
      chunk_begin = pos;
      previous = {};
      continue;
    }
    const std::string_view current = rest.substr(0, utf8::valid_char_length(rest));
    if (!previous.empty() && !joinable_.contains(previous, current)) {
      encode_chunk(chunk_begin, pos);
      chunk_begin = pos;
    }
    previous = current;
    pos += current.size();
  }
  encode_chunk(chunk_begin, text.size());
}

void VocabTokenizer::encode_normalized(std::string_view text, std::vector<int32_t>& ids) const {
  // Split into characters, user-defined pieces whole. text: N bytes -> S symbols.
  std::vector<Symbol> symbols;
  for (size_t pos = 0; pos < text.size();) {
    const std::string_view rest = text.substr(pos);
    const size_t user_defined = user_defined_.empty() ? 0 : user_defined_.longest_match(rest);
    const size_t length = user_defined > 0 ? user_defined : utf8::valid_char_length(rest);
    const int32_t index = static_cast<int32_t>(symbols.size());
    symbols.push_back({static_cast<uint32_t>(pos), static_cast<uint32_t>(length), index - 1,
                       pos + length < text.size() ? index + 1 : -1, user_defined > 0});
    pos += length;
  }
  const auto text_of = [&](const Symbol& s) { return text.substr(s.begin, s.size); };

  MergeQueue agenda;
  MergeHistory unused_parts;  // how each unused piece was formed, to split it again at the end
  const auto consider_pair = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0 || symbols[left].frozen || symbols[right].frozen) return;
    const std::string_view merged = text.substr(symbols[left].begin, symbols[left].size + symbols[right].size);
    const auto found = mergeable_.find(merged);
    if (found == mergeable_.end()) return;
    agenda.push({vocab_.scores[found->second], left, right, static_cast<uint32_t>(merged.size())});
    if (vocab_.type(found->second) == TokenType::Unused)
      unused_parts[merged] = {text_of(symbols[left]), text_of(symbols[right])};
  };
  for (size_t i = 1; i < symbols.size(); ++i) consider_pair(static_cast<int32_t>(i - 1), static_cast<int32_t>(i));

  while (!agenda.empty()) {
    const Candidate best = agenda.top();
    agenda.pop();
    Symbol& left = symbols[best.left];
    Symbol& right = symbols[best.right];
    // Stale: one side was absorbed or has grown since this candidate was queued.
    if (left.size == 0 || right.size == 0 || left.size + right.size != best.size) continue;
    left.size += right.size;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = best.left;
    right.size = 0;
    consider_pair(left.prev, best.left);
    consider_pair(best.left, left.next);
  }

  bool previous_was_unknown = false;
  for (int32_t i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[i].next)
    emit_symbol(text_of(symbols[i]), unused_parts, ids, previous_was_unknown);
}

void VocabTokenizer::emit_symbol(std::string_view symbol, const MergeHistory& unused_parts,
                                 std::vector<int32_t>& ids, bool& previous_was_unknown) const {
  const auto found = mergeable_.find(symbol);
  if (found != mergeable_.end()) {
    const auto parts = unused_parts.find(symbol);
    if (vocab_.type(found->second) == TokenType::Unused && parts != unused_parts.end()) {
      emit_symbol(parts->second.first, unused_parts, ids, previous_was_unknown);
      emit_symbol(parts->second.second, unused_parts, ids, previous_was_unknown);
      return;
    }
    ids.push_back(found->second);
    previous_was_unknown = false;
    return;
  }
  // Not in the vocabulary: its bytes, or one <unk> for a whole run of unknown symbols.
  if (byte_fallback_) {
    for (char byte : symbol) ids.push_back(byte_ids_[static_cast<uint8_t>(byte)]);
  } else if (!previous_was_unknown) {
    ids.push_back(vocab_.unk);
  }
  previous_was_unknown = true;
}

std::string VocabTokenizer::decode_ids(std::span<const int32_t> ids) const {
  std::string text;
  std::string pending_bytes;  // a run of byte tokens, decoded together
  const auto flush_bytes = [&] {
    std::string_view rest(pending_bytes);
    while (!rest.empty()) {
      const size_t length = utf8::valid_char_length(rest);
      text.append(length > 0 ? rest.substr(0, length) : utf8::kReplacement);
      rest.remove_prefix(length > 0 ? length : 1);
    }
    pending_bytes.clear();
  };
  // The dummy prefix: one leading "▁" is dropped from the first piece that starts with it, as
  // long as nothing visible precedes it.
  bool may_drop_prefix = vocab_.add_dummy_prefix;
  bool dropped_prefix = false;
  for (int32_t id : ids) {
    const TokenType type = vocab_.type(id);
    if (type == TokenType::Byte) {
      pending_bytes.push_back(static_cast<char>(*parse_byte_piece(vocab_.pieces[id])));
      continue;
    }
    flush_bytes();
    if (dropped_prefix || !text.empty()) may_drop_prefix = false;
    dropped_prefix = false;
    if (type == TokenType::Control) continue;
    if (type == TokenType::Unknown) {
      text += kUnknownSurface;
      continue;
    }
    std::string_view piece = vocab_.pieces[id];
    if (may_drop_prefix && piece.starts_with(kSpaceSymbol)) {
      piece.remove_prefix(kSpaceSymbol.size());
      dropped_prefix = true;
    }
    // "▁" -> " ".
    for (size_t pos = 0; pos < piece.size();) {
      if (piece.substr(pos).starts_with(kSpaceSymbol)) {
        text += ' ';
        pos += kSpaceSymbol.size();
      } else {
        text += piece[pos++];
      }
    }
  }
  flush_bytes();
  return text;
}

}  // namespace ll
