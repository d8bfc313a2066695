#include "text/prefix_matcher.h"

namespace ll {

int32_t PrefixMatcher::child(int32_t node, uint8_t byte) const {
  for (const auto& [next_byte, index] : nodes_[node].children)
    if (next_byte == byte) return index;
  return -1;
}

void PrefixMatcher::add(std::string_view word) {
  int32_t node = 0;
  for (char c : word) {
    const uint8_t byte = static_cast<uint8_t>(c);
    int32_t next = child(node, byte);
    if (next < 0) {
      next = static_cast<int32_t>(nodes_.size());
      nodes_[node].children.emplace_back(byte, next);
      nodes_.emplace_back();
    }
    node = next;
  }
  nodes_[node].ends_word = true;
}

size_t PrefixMatcher::longest_match(std::string_view text) const {
  size_t longest = 0;
  int32_t node = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    node = child(node, static_cast<uint8_t>(text[i]));
    if (node < 0) break;
    if (nodes_[node].ends_word) longest = i + 1;
  }
  return longest;
}

}  // namespace ll
