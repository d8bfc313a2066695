// Longest-prefix matching against a fixed set of strings (a byte trie), for the user-defined
// pieces that SentencePiece keeps whole wherever they occur in the text.
#pragma once
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace ll {

class PrefixMatcher {
 public:
  void add(std::string_view word);
  bool empty() const { return nodes_.size() <= 1; }
  // Length of the longest added word that `text` starts with; 0 when none.
  size_t longest_match(std::string_view text) const;

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> children;  // (next byte, node index), few per node
    bool ends_word = false;
  };
  int32_t child(int32_t node, uint8_t byte) const;  // -1 when absent

  std::vector<Node> nodes_ = std::vector<Node>(1);  // nodes_[0] is the root
};

}  // namespace ll
