#include "text/split_patterns.h"

#include <cstdint>
#include <string>

#include "text/unicode_class.h"
#include "text/utf8.h"

namespace ll {
namespace {

constexpr std::string_view kGpt2 = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr std::string_view kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kQwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// One character of the text and the classes the patterns ask about.
struct Char {
  uint32_t cp;
  uint32_t begin;  // byte offset
  bool letter, number, space;
  bool other() const { return !letter && !number && !space; }  // [^\s\p{L}\p{N}]
  bool cr_lf() const { return cp == '\r' || cp == '\n'; }
};

class Scanner {
 public:
  Scanner(SplitPattern pattern, std::string_view text) : pattern_(pattern), text_(text) {
    for (size_t pos = 0; pos < text.size();) {
      const size_t length = utf8::valid_char_length(text.substr(pos));
      const uint32_t cp = utf8::code_point(text.substr(pos, length));
      chars_.push_back({cp, static_cast<uint32_t>(pos), unicode::is_letter(cp), unicode::is_number(cp),
                        unicode::is_white_space(cp)});
      pos += length;
    }
  }

  std::vector<std::string_view> split() const {
    std::vector<std::string_view> pieces;
    for (size_t i = 0; i < chars_.size();) {
      const size_t end = pattern_ == SplitPattern::Gpt2 ? match_gpt2(i) : match_cl100k(i);
      pieces.push_back(text_.substr(offset(i), offset(end) - offset(i)));
      i = end;
    }
    return pieces;
  }

 private:
  size_t offset(size_t i) const { return i < chars_.size() ? chars_[i].begin : text_.size(); }
  bool at(size_t i, bool Char::*cls) const { return i < chars_.size() && chars_[i].*cls; }
  bool is(size_t i, uint32_t cp) const { return i < chars_.size() && chars_[i].cp == cp; }
  bool other(size_t i) const { return i < chars_.size() && chars_[i].other(); }
  // The end of the run of characters from `i` on that satisfy `pred`.
  template <typename Pred>
  size_t run(size_t i, Pred pred, size_t limit = SIZE_MAX) const {
    size_t end = i;
    while (end < chars_.size() && end - i < limit && pred(chars_[end])) ++end;
    return end;
  }

  // 's|'t|'re|'ve|'m|'ll|'d after an apostrophe at i: the end of the match, or 0. With
  // `ignore_case` as Oniguruma's (?i): ASCII case and U+017F LONG S, which folds to s.
  size_t contraction(size_t i, bool ignore_case) const {
    if (!is(i, '\'')) return 0;
    const auto letter = [&](size_t k, char c) {
      if (k >= chars_.size()) return false;
      uint32_t cp = chars_[k].cp;
      if (ignore_case) {
        if (cp >= 'A' && cp <= 'Z') cp += 'a' - 'A';
        if (cp == 0x17F) cp = 's';
      }
      return cp == static_cast<uint32_t>(c);
    };
    for (const char* suffix : {"s", "t", "re", "ve", "m", "ll", "d"}) {
      size_t k = i + 1;
      for (const char* c = suffix; *c && letter(k, *c); ++c) ++k;
      if (k - i - 1 == std::char_traits<char>::length(suffix)) return k;
    }
    return 0;
  }

  // \s+(?!\S) at a whitespace character i: the whole run when it ends the text, else the run
  // but its last character (which must then be a whitespace run of at least two); 0 when none.
  size_t spaces_not_before_text(size_t i) const {
    const size_t end = run(i, [](const Char& c) { return c.space; });
    if (end == chars_.size()) return end;
    return end - i >= 2 ? end - 1 : 0;
  }

  size_t match_gpt2(size_t i) const {
    if (const size_t end = contraction(i, /*ignore_case=*/false)) return end;
    const size_t start = is(i, ' ') ? i + 1 : i;  // " ?" before the next three
    if (at(start, &Char::letter)) return run(start, [](const Char& c) { return c.letter; });
    if (at(start, &Char::number)) return run(start, [](const Char& c) { return c.number; });
    if (other(start)) return run(start, [](const Char& c) { return c.other(); });
    if (const size_t end = spaces_not_before_text(i)) return end;
    return run(i, [](const Char& c) { return c.space; });  // \s+ (i is whitespace here)
  }

  size_t match_cl100k(size_t i) const {
    if (const size_t end = contraction(i, /*ignore_case=*/true)) return end;
    // [^\r\n\p{L}\p{N}]?\p{L}+
    const bool optional_lead = i < chars_.size() && !chars_[i].letter && !chars_[i].number && !chars_[i].cr_lf();
    if (optional_lead && at(i + 1, &Char::letter)) return run(i + 1, [](const Char& c) { return c.letter; });
    if (at(i, &Char::letter)) return run(i, [](const Char& c) { return c.letter; });
    // \p{N}{1,3} or \p{N}
    if (at(i, &Char::number))
      return run(
          i, [](const Char& c) { return c.number; }, pattern_ == SplitPattern::Llama3 ? 3 : 1);
    // " ?[^\s\p{L}\p{N}]+[\r\n]*"
    const size_t start = is(i, ' ') && other(i + 1) ? i + 1 : i;
    if (other(start)) {
      const size_t end = run(start, [](const Char& c) { return c.other(); });
      return run(end, [](const Char& c) { return c.cr_lf(); });
    }
    // \s*[\r\n]+: the whitespace run up to and including its last \r or \n.
    const size_t spaces_end = run(i, [](const Char& c) { return c.space; });
    for (size_t k = spaces_end; k > i; --k)
      if (chars_[k - 1].cr_lf()) return k;
    if (const size_t end = spaces_not_before_text(i)) return end;
    return spaces_end;  // \s+
  }

  SplitPattern pattern_;
  std::string_view text_;
  std::vector<Char> chars_;
};

}  // namespace

std::optional<SplitPattern> recognize_split_pattern(std::string_view regex) {
  for (SplitPattern p : {SplitPattern::Gpt2, SplitPattern::Llama3, SplitPattern::Qwen2})
    if (regex == split_pattern_regex(p)) return p;
  return std::nullopt;
}

std::string_view split_pattern_regex(SplitPattern pattern) {
  switch (pattern) {
    case SplitPattern::Gpt2: return kGpt2;
    case SplitPattern::Llama3: return kLlama3;
    case SplitPattern::Qwen2: return kQwen2;
  }
  return {};
}

std::vector<std::string_view> split_by_pattern(SplitPattern pattern, std::string_view text) {
  return Scanner(pattern, text).split();
}

}  // namespace ll
