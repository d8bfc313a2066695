#include "text/hf_decoder.h"

#include "core/error.h"
#include "text/byte_level.h"
#include "text/hf_normalizer.h"
#include "text/utf8.h"

namespace ll {
namespace {

using Kind = DecoderStep::Kind;

// The byte a token spells as <0xXX>, read as tokenizers does (u8::from_str_radix(_, 16) of the
// two characters, which also takes a leading '+').
std::optional<uint8_t> byte_token(std::string_view token) {
  if (token.size() != 6 || !token.starts_with("<0x") || token[5] != '>') return std::nullopt;
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (token[3] == '+') {
    if (hex(token[4]) < 0) return std::nullopt;
    return static_cast<uint8_t>(hex(token[4]));
  }
  if (hex(token[3]) < 0 || hex(token[4]) < 0) return std::nullopt;
  return static_cast<uint8_t>(hex(token[3]) * 16 + hex(token[4]));
}

// The bytes a token stands for under the ByteLevel decoder: its byte-level spelling, or its own
// UTF-8 when some character is outside the byte-level alphabet (e.g. an added token).
std::string byte_level_bytes(std::string_view token) {
  auto bytes = byte_level::decode(token);
  return bytes ? std::move(*bytes) : std::string(token);
}

// One character of well-formed `s` at a time.
template <typename Visit>
void for_each_char(std::string_view s, Visit visit) {
  for (size_t pos = 0; pos < s.size();) {
    const size_t length = utf8::valid_char_length(s.substr(pos));
    visit(s.substr(pos, length));
    pos += length;
  }
}

std::vector<std::string> byte_fallback(std::vector<std::string> tokens) {
  std::vector<std::string> out;
  std::string run;  // consecutive byte tokens
  size_t run_tokens = 0;
  const auto flush = [&] {
    if (run_tokens == 0) return;
    if (utf8::is_valid(run)) {
      out.push_back(run);
    } else {
      for (size_t i = 0; i < run_tokens; ++i) out.emplace_back(utf8::kReplacement);
    }
    run.clear();
    run_tokens = 0;
  };
  for (std::string& token : tokens) {
    if (const auto byte = byte_token(token)) {
      run.push_back(static_cast<char>(*byte));
      ++run_tokens;
      continue;
    }
    flush();
    out.push_back(std::move(token));
  }
  flush();
  return out;
}

std::string strip(std::string_view token, const DecoderStep& step) {
  std::vector<std::string_view> chars;
  for_each_char(token, [&](std::string_view c) { chars.push_back(c); });
  size_t begin = 0, end = chars.size();
  while (begin < step.start && begin < chars.size() && chars[begin] == step.content) ++begin;
  for (size_t i = 0; i < step.stop && end > begin && chars[end - 1] == step.content; ++i) --end;
  std::string out;
  for (size_t i = begin; i < end; ++i) out.append(chars[i]);
  return out;
}

std::string metaspace(std::string_view token, bool first, const DecoderStep& step) {
  std::string out;
  for_each_char(token, [&](std::string_view c) {
    if (c != step.pattern)
      out.append(c);
    else if (!first || step.prepend_scheme == PrependScheme::Never)
      out += ' ';
  });
  return out;
}

}  // namespace

HfDecoder::HfDecoder(std::optional<std::vector<DecoderStep>> steps) : steps_(std::move(steps)) {
  if (!steps_) return;
  for (size_t i = 0; i < steps_->size(); ++i) {
    const Kind kind = (*steps_)[i].kind;
    if (kind == Kind::ByteLevel) {
      LL_CHECK(i == 0 && joining_ == Joining::None);
      joining_ = Joining::ByteLevel;
    }
    if (kind == Kind::ByteFallback) {
      LL_CHECK(joining_ != Joining::ByteLevel);
      joining_ = Joining::ByteFallback;
    }
  }
}

std::string HfDecoder::decode(std::vector<std::string> tokens) const {
  if (!steps_) {
    std::string text;
    for (size_t i = 0; i < tokens.size(); ++i) text += (i ? " " : "") + tokens[i];
    return text;
  }
  for (const DecoderStep& step : *steps_) {
    switch (step.kind) {
      case Kind::ByteLevel: {
        std::string bytes;
        for (const std::string& token : tokens) bytes += byte_level_bytes(token);
        std::string text;
        utf8::append_lossy(text, bytes);
        tokens.assign(1, std::move(text));
        break;
      }
      case Kind::Replace:
        for (std::string& token : tokens) token = replace_all(token, step.pattern, step.content);
        break;
      case Kind::ByteFallback: tokens = byte_fallback(std::move(tokens)); break;
      case Kind::Fuse: {
        std::string joined;
        for (const std::string& token : tokens) joined += token;
        tokens.assign(1, std::move(joined));
        break;
      }
      case Kind::Strip:
        for (std::string& token : tokens) token = strip(token, step);
        break;
      case Kind::Metaspace:
        for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = metaspace(tokens[i], i == 0, step);
        break;
    }
  }
  std::string text;
  for (const std::string& token : tokens) text += token;
  return text;
}

size_t HfDecoder::final_prefix(std::span<const std::string_view> tokens) const {
  switch (joining_) {
    case Joining::None: return tokens.size();
    case Joining::ByteFallback: {
      size_t run_begin = tokens.size();
      while (run_begin > 0 && byte_token(tokens[run_begin - 1])) --run_begin;
      return run_begin;
    }
    case Joining::ByteLevel: break;
  }
  // The bytes of all tokens, read character by character as append_lossy does; a token's text
  // is final when its bytes end where a character ends, before an unfinished last character.
  std::string bytes;
  std::vector<size_t> ends;  // of each token's bytes
  for (std::string_view token : tokens) {
    bytes += byte_level_bytes(token);
    ends.push_back(bytes.size());
  }
  std::vector<bool> boundary(bytes.size() + 1, false);
  boundary[0] = true;
  size_t pos = 0;
  while (pos < bytes.size()) {
    const std::string_view rest = std::string_view(bytes).substr(pos);
    const size_t length = utf8::valid_char_length(rest);
    if (length == 0 && utf8::is_unfinished_char(rest)) break;
    pos += length > 0 ? length : 1;
    boundary[pos] = true;
  }
  size_t count = tokens.size();
  while (count > 0 && (ends[count - 1] > pos || !boundary[ends[count - 1]])) --count;
  return count;
}

}  // namespace ll
