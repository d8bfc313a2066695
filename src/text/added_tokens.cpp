#include "text/added_tokens.h"

#include "text/unicode_class.h"
#include "text/utf8.h"

namespace ll {
namespace {

// The first / last character of well-formed `s`.
uint32_t first_char(std::string_view s) { return utf8::code_point(s.substr(0, utf8::valid_char_length(s))); }
uint32_t last_char(std::string_view s) {
  size_t begin = s.size() - 1;
  while (begin > 0 && (static_cast<uint8_t>(s[begin]) & 0xC0) == 0x80) --begin;
  return utf8::code_point(s.substr(begin));
}

// Where the whitespace at the end of `s` begins (regex \s*$).
size_t trailing_space_begin(std::string_view s) {
  while (!s.empty() && unicode::is_white_space(last_char(s))) {
    size_t begin = s.size() - 1;
    while (begin > 0 && (static_cast<uint8_t>(s[begin]) & 0xC0) == 0x80) --begin;
    s = s.substr(0, begin);
  }
  return s.size();
}

// The length of the whitespace at the start of `s` (regex ^\s*).
size_t leading_space_length(std::string_view s) {
  size_t length = 0;
  while (length < s.size()) {
    const size_t n = utf8::valid_char_length(s.substr(length));
    if (!unicode::is_white_space(utf8::code_point(s.substr(length, n)))) break;
    length += n;
  }
  return length;
}

}  // namespace

void AddedTokenFinder::add(const AddedTokenSpec& token, std::string_view text) {
  if (text.empty()) return;  // (a token that normalises to nothing is never found)
  matcher_.add(text);
  tokens_.try_emplace(std::string(text), token);  // two tokens found as the same text: the first
}

std::vector<AddedTokenFinder::Piece> AddedTokenFinder::split(std::string_view text) const {
  if (text.empty() || empty()) return {{text, -1}};
  std::vector<Piece> pieces;
  size_t done = 0;  // the end of the last piece
  for (size_t pos = 0; pos < text.size();) {
    const size_t length = matcher_.longest_match(text.substr(pos));
    if (length == 0) {
      ++pos;
      continue;
    }
    const AddedTokenSpec& token = tokens_.at(std::string(text.substr(pos, length)));
    size_t start = pos, stop = pos + length;
    pos = stop;  // the search goes on after the match, whatever the flags make of it
    if (token.single_word) {
      const bool word_before = start > 0 && unicode::is_word(last_char(text.substr(0, start)));
      const bool word_after = stop < text.size() && unicode::is_word(first_char(text.substr(stop)));
      if (word_before || word_after) continue;
    }
    if (token.lstrip) start = std::max(trailing_space_begin(text.substr(0, start)), done);
    if (token.rstrip) stop += leading_space_length(text.substr(stop));
    if (done < start) pieces.push_back({text.substr(done, start - done), -1});
    pieces.push_back({text.substr(start, stop - start), token.id});
    done = stop;
  }
  if (done != text.size()) pieces.push_back({text.substr(done), -1});
  return pieces;
}

}  // namespace ll
