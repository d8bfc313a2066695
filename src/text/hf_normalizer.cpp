#include "text/hf_normalizer.h"

#include "text/unicode_class.h"

namespace ll {

std::string replace_all(std::string_view text, std::string_view pattern, std::string_view content) {
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0;;) {
    const size_t found = text.find(pattern, pos);
    if (found == std::string_view::npos) {
      out.append(text.substr(pos));
      return out;
    }
    out.append(text.substr(pos, found - pos)).append(content);
    pos = found + pattern.size();
  }
}

std::string normalize_text(const std::vector<NormalizerStep>& steps, std::string_view text) {
  std::string s(text);
  using Kind = NormalizerStep::Kind;
  for (const NormalizerStep& step : steps) {
    switch (step.kind) {
      case Kind::Nfc: s = unicode::normalize(s, unicode::NormalForm::Nfc); break;
      case Kind::Nfd: s = unicode::normalize(s, unicode::NormalForm::Nfd); break;
      case Kind::Nfkc: s = unicode::normalize(s, unicode::NormalForm::Nfkc); break;
      case Kind::Nfkd: s = unicode::normalize(s, unicode::NormalForm::Nfkd); break;
      case Kind::Prepend:
        if (!s.empty()) s.insert(0, step.pattern);  // nothing before empty text
        break;
      case Kind::Replace: s = replace_all(s, step.pattern, step.content); break;
    }
  }
  return s;
}

}  // namespace ll
