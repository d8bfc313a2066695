#include "text/hf_pre_tokenizer.h"

#include "text/byte_level.h"
#include "text/hf_normalizer.h"

namespace ll {
namespace {

struct Word {
  std::string text;
  bool at_text_start;  // only the first piece of the text
};

// Metaspace: spaces become the replacement, which is put before the word as the scheme says;
// with `split`, a new word starts at each replacement character.
void metaspace(const PreTokenizerStep& step, const Word& word, std::vector<Word>& out) {
  std::string text = replace_all(word.text, " ", step.replacement);
  const bool starts = text.compare(0, step.replacement.size(), step.replacement) == 0;
  const bool prepend = !text.empty() && !starts &&
                       (step.prepend_scheme == PrependScheme::Always ||
                        (step.prepend_scheme == PrependScheme::First && word.at_text_start));
  if (prepend) text.insert(0, step.replacement);
  if (!step.split) {
    out.push_back({std::move(text), word.at_text_start});
    return;
  }
  // (MergedWithNext on a one-character delimiter: a word starts at each of them.)
  size_t begin = 0;
  for (size_t pos = 1; pos <= text.size(); ++pos) {
    if (pos == text.size() || text.compare(pos, step.replacement.size(), step.replacement) == 0) {
      out.push_back({text.substr(begin, pos - begin), word.at_text_start && begin == 0});
      begin = pos;
    }
  }
}

}  // namespace

std::vector<std::string> pre_tokenize(const std::vector<PreTokenizerStep>& steps, std::string_view text,
                                      bool at_text_start) {
  std::vector<Word> words;
  if (!text.empty()) words.push_back({std::string(text), at_text_start});
  using Kind = PreTokenizerStep::Kind;
  for (const PreTokenizerStep& step : steps) {
    std::vector<Word> next;
    for (const Word& word : words) {
      switch (step.kind) {
        case Kind::Split: {
          bool first = word.at_text_start;
          for (std::string_view piece : split_by_pattern(step.pattern, word.text)) {
            next.push_back({std::string(piece), first});
            first = false;
          }
          break;
        }
        case Kind::ByteLevel: {
          std::string prefixed = word.text;
          if (step.add_prefix_space && prefixed[0] != ' ') prefixed.insert(0, " ");
          std::vector<std::string_view> pieces{prefixed};
          if (step.use_regex) pieces = split_by_pattern(SplitPattern::Gpt2, prefixed);
          bool first = word.at_text_start;
          for (std::string_view piece : pieces) {
            Word encoded{"", first};
            byte_level::append_encoded(encoded.text, piece);
            next.push_back(std::move(encoded));
            first = false;
          }
          break;
        }
        case Kind::Metaspace: metaspace(step, word, next); break;
      }
    }
    std::erase_if(next, [](const Word& w) { return w.text.empty(); });
    words = std::move(next);
  }
  std::vector<std::string> result;
  result.reserve(words.size());
  for (Word& word : words) result.push_back(std::move(word.text));
  return result;
}

}  // namespace ll
