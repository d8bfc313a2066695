// A set of ordered pairs of UTF-8 characters, e.g. every two characters that stand next to
// each other inside some vocabulary piece. ASCII pairs are a table lookup.
#pragma once
#include <bitset>
#include <cstdint>
#include <string_view>
#include <unordered_set>

namespace ll {

class CharPairSet {
 public:
  // `first` and `second` are single well-formed UTF-8 characters.
  void add(std::string_view first, std::string_view second);
  bool contains(std::string_view first, std::string_view second) const;

 private:
  static bool both_ascii(std::string_view first, std::string_view second) {
    return first.size() == 1 && second.size() == 1 && static_cast<uint8_t>(first[0]) < 0x80 &&
           static_cast<uint8_t>(second[0]) < 0x80;
  }
  static size_t ascii_index(std::string_view first, std::string_view second) {
    return static_cast<size_t>(first[0]) * 128 + static_cast<size_t>(second[0]);
  }
  // The two characters' bytes (at most 4 each) packed into 64 bits: unambiguous, since a
  // UTF-8 lead byte fixes its character's length.
  static uint64_t key(std::string_view first, std::string_view second);

  std::bitset<128 * 128> ascii_;
  std::unordered_set<uint64_t> others_;
};

}  // namespace ll
