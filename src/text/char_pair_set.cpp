#include "text/char_pair_set.h"

namespace ll {

uint64_t CharPairSet::key(std::string_view first, std::string_view second) {
  uint64_t packed = 0;
  for (char c : first) packed = packed << 8 | static_cast<uint8_t>(c);
  packed <<= 32;
  uint64_t low = 0;
  for (char c : second) low = low << 8 | static_cast<uint8_t>(c);
  return packed | low;
}

void CharPairSet::add(std::string_view first, std::string_view second) {
  if (both_ascii(first, second))
    ascii_.set(ascii_index(first, second));
  else
    others_.insert(key(first, second));
}

bool CharPairSet::contains(std::string_view first, std::string_view second) const {
  if (both_ascii(first, second)) return ascii_.test(ascii_index(first, second));
  return others_.count(key(first, second)) != 0;
}

}  // namespace ll
