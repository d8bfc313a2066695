#include "text/unicode_class.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include "core/error.h"

namespace ll::unicode {

bool is_letter(uint32_t cp) { return (U_GET_GC_MASK(static_cast<UChar32>(cp)) & U_GC_L_MASK) != 0; }

bool is_number(uint32_t cp) { return (U_GET_GC_MASK(static_cast<UChar32>(cp)) & U_GC_N_MASK) != 0; }

bool is_white_space(uint32_t cp) { return u_isUWhiteSpace(static_cast<UChar32>(cp)); }

bool is_word(uint32_t cp) {
  const auto c = static_cast<UChar32>(cp);
  return u_hasBinaryProperty(c, UCHAR_ALPHABETIC) || u_hasBinaryProperty(c, UCHAR_JOIN_CONTROL) ||
         (U_GET_GC_MASK(c) & (U_GC_M_MASK | U_GC_ND_MASK | U_GC_PC_MASK)) != 0;
}

std::string normalize(std::string_view text, NormalForm form) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* normalizer = nullptr;
  switch (form) {
    case NormalForm::Nfc: normalizer = icu::Normalizer2::getNFCInstance(status); break;
    case NormalForm::Nfd: normalizer = icu::Normalizer2::getNFDInstance(status); break;
    case NormalForm::Nfkc: normalizer = icu::Normalizer2::getNFKCInstance(status); break;
    case NormalForm::Nfkd: normalizer = icu::Normalizer2::getNFKDInstance(status); break;
  }
  LL_CHECK(U_SUCCESS(status) && normalizer != nullptr);  // ICU's built-in data is always there
  const icu::UnicodeString source =
      icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  if (normalizer->isNormalized(source, status) && U_SUCCESS(status)) return std::string(text);
  status = U_ZERO_ERROR;
  const icu::UnicodeString result = normalizer->normalize(source, status);
  LL_CHECK(U_SUCCESS(status));
  std::string out;
  result.toUTF8String(out);
  return out;
}

}  // namespace ll::unicode
