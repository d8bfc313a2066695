#include "text/hf_bpe.h"

#include <queue>

#include "core/error.h"
#include "text/utf8.h"
#include "text/vocab.h"

namespace ll {

HfBpe::HfBpe(const BpeSpec& spec, const std::string& source)
    : source_(source),
      unk_token_(spec.unk_token),
      continuing_subword_prefix_(spec.continuing_subword_prefix),
      end_of_word_suffix_(spec.end_of_word_suffix),
      fuse_unk_(spec.fuse_unk),
      byte_fallback_(spec.byte_fallback),
      ignore_merges_(spec.ignore_merges) {
  ids_.reserve(spec.vocab.size());
  for (size_t id = 0; id < spec.vocab.size(); ++id) ids_.emplace(spec.vocab[id], static_cast<int32_t>(id));
  merges_.reserve(spec.merges.size());
  const size_t prefix_length = continuing_subword_prefix_.size();
  for (size_t rank = 0; rank < spec.merges.size(); ++rank) {
    const auto& [left, right] = spec.merges[rank];
    const int32_t merged = ids_.at(left + right.substr(prefix_length));
    // A pair listed twice keeps its last rank, as when the library collects them into a map.
    merges_[pair_key(ids_.at(left), ids_.at(right))] = {static_cast<uint32_t>(rank), merged};
  }
}

std::optional<int32_t> HfBpe::id_of(std::string_view token) const {
  const auto found = ids_.find(token);
  if (found == ids_.end()) return std::nullopt;
  return found->second;
}

void HfBpe::encode_word(std::string_view word, std::vector<int32_t>& ids) const {
  if (word.empty()) return;
  if (ignore_merges_)
    if (const auto whole = id_of(word)) {
      ids.push_back(*whole);
      return;
    }
  std::vector<int32_t> symbols;
  int32_t pending_unknown = -1;  // the unknown token of a run not yet added; -1: none
  const auto unknown_id = [&] {
    const auto id = id_of(*unk_token_);
    if (!id)
      fail_input(source_, "model.unk_token: '" + *unk_token_ +
                              "' is not in model.vocab, but the text has a character outside it");
    return *id;
  };
  std::string symbol;
  for (size_t pos = 0; pos < word.size();) {
    const size_t length = utf8::valid_char_length(word.substr(pos));
    LL_CHECK(length > 0);  // the text was made well-formed before
    symbol.clear();
    if (pos > 0) symbol += continuing_subword_prefix_;
    symbol.append(word.substr(pos, length));
    pos += length;
    if (pos == word.size()) symbol += end_of_word_suffix_;

    if (const auto id = id_of(symbol)) {
      if (pending_unknown >= 0) symbols.push_back(pending_unknown);
      pending_unknown = -1;
      symbols.push_back(*id);
      continue;
    }
    if (byte_fallback_) {
      std::vector<int32_t> bytes;
      for (char byte : symbol) {
        const auto id = id_of(byte_piece(static_cast<uint8_t>(byte)));
        if (!id) break;
        bytes.push_back(*id);
      }
      // (The library adds these before a pending unknown token; so do we.)
      if (bytes.size() == symbol.size()) {
        symbols.insert(symbols.end(), bytes.begin(), bytes.end());
        continue;
      }
    }
    if (!unk_token_) continue;  // no unknown token: the character is dropped
    if (pending_unknown >= 0 && !fuse_unk_) symbols.push_back(pending_unknown);
    if (pending_unknown < 0 || !fuse_unk_) pending_unknown = unknown_id();
  }
  if (pending_unknown >= 0) symbols.push_back(pending_unknown);
  merge_all(symbols);
  ids.insert(ids.end(), symbols.begin(), symbols.end());
}

void HfBpe::merge_all(std::vector<int32_t>& symbols) const {
  struct Symbol {
    int32_t id;
    int32_t prev, next;  // -1 at the ends
    bool removed;
  };
  struct Entry {
    uint32_t rank;
    int32_t pos;
    int32_t merged;
    // std::priority_queue pops the largest: make that the lowest rank, then the lowest position.
    bool operator<(const Entry& other) const { return rank != other.rank ? rank > other.rank : pos > other.pos; }
  };
  const int32_t n = static_cast<int32_t>(symbols.size());
  std::vector<Symbol> word(n);
  for (int32_t i = 0; i < n; ++i) word[i] = {symbols[i], i - 1, i + 1 < n ? i + 1 : -1, false};

  std::priority_queue<Entry> queue;
  const auto push = [&](int32_t pos, int32_t left, int32_t right) {
    const auto found = merges_.find(pair_key(left, right));
    if (found != merges_.end()) queue.push({found->second.rank, pos, found->second.merged});
  };
  for (int32_t i = 0; i + 1 < n; ++i) push(i, word[i].id, word[i + 1].id);

  while (!queue.empty()) {
    const Entry top = queue.top();
    queue.pop();
    Symbol& left = word[top.pos];
    if (left.removed || left.next < 0) continue;
    const Symbol right = word[left.next];
    // Outdated: the pair at this position no longer makes this token.
    const auto now = merges_.find(pair_key(left.id, right.id));
    if (now == merges_.end() || now->second.merged != top.merged) continue;
    word[left.next].removed = true;
    left.id = top.merged;
    left.next = right.next;
    if (right.next >= 0) word[right.next].prev = top.pos;
    if (left.prev >= 0) push(left.prev, word[left.prev].id, left.id);
    if (left.next >= 0) push(top.pos, left.id, word[left.next].id);
  }
  symbols.clear();
  for (const Symbol& s : word)
    if (!s.removed) symbols.push_back(s.id);
}

}  // namespace ll
