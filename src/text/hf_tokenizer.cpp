#include "text/hf_tokenizer.h"

#include <unordered_map>

#include "core/error.h"
#include "text/hf_normalizer.h"
#include "text/hf_pre_tokenizer.h"
#include "text/utf8.h"
#include "text/vocab.h"

namespace ll {
namespace {

// The longest text encoded in one call (ICU's normaliser counts in 32-bit units).
constexpr size_t kMaxTextBytes = size_t{512} << 20;

// The id of `token`: an added token first, then the model's vocabulary (token_to_id).
std::optional<int32_t> id_of(const TokenizerJson& spec, std::string_view token) {
  for (const AddedTokenSpec& added : spec.added_tokens)
    if (added.content == token) return added.id;
  for (size_t id = 0; id < spec.model.vocab.size(); ++id)
    if (spec.model.vocab[id] == token) return static_cast<int32_t>(id);
  return std::nullopt;
}

}  // namespace

std::unique_ptr<HfTokenizer> HfTokenizer::from_file(const std::string& path) {
  return std::make_unique<HfTokenizer>(read_tokenizer_json(path));
}

HfTokenizer::SpecialIds HfTokenizer::special_ids(const TokenizerJson& spec) {
  SpecialIds ids{static_cast<int>(spec.model.vocab.size()), -1, -1, false};
  for (const AddedTokenSpec& added : spec.added_tokens) ids.vocab_size = std::max(ids.vocab_size, added.id + 1);
  const auto single = [&](const std::vector<int32_t>& tokens, const char* where) {
    if (tokens.size() > 1)
      fail_input(spec.source, std::string("post_processor: the template puts ") + std::to_string(tokens.size()) +
                                  " tokens " + where + " the text; longlora supports one at most");
    return tokens.empty() ? -1 : tokens[0];
  };
  ids.bos = single(spec.template_prefix, "before");
  ids.no_bos = ids.bos < 0;
  ids.eos = single(spec.template_suffix, "after");
  if (spec.eos_token) {
    const auto eos = id_of(spec, *spec.eos_token);
    if (!eos) fail_input(spec.eos_source, "eos_token: '" + *spec.eos_token + "' is not a token of " + spec.source);
    ids.eos = *eos;
  }
  return ids;
}

HfTokenizer::HfTokenizer(TokenizerJson spec) : HfTokenizer(special_ids(spec), std::move(spec)) {}

HfTokenizer::HfTokenizer(const SpecialIds& special, TokenizerJson&& spec)
    : Tokenizer(spec.source, special.vocab_size, special.bos, special.eos, special.no_bos),
      spec_(std::move(spec)),
      bpe_(spec_.model, spec_.source),
      decoder_(spec_.decoder) {
  pieces_ = spec_.model.vocab;
  pieces_.resize(special.vocab_size);
  types_.assign(special.vocab_size, TokenType::Normal);
  if (spec_.model.byte_fallback)
    for (int byte = 0; byte < 256; ++byte)
      if (const auto id = bpe_.id_of(byte_piece(static_cast<uint8_t>(byte)))) types_[*id] = TokenType::Byte;
  if (spec_.model.unk_token)
    if (const auto id = bpe_.id_of(*spec_.model.unk_token)) types_[*id] = TokenType::Unknown;
  // Special tokens are looked for first, then the others (as the library builds its matchers).
  for (const bool special : {true, false}) {
    for (const AddedTokenSpec& added : spec_.added_tokens) {
      if (added.special != special) continue;
      pieces_[added.id] = added.content;
      types_[added.id] = special ? TokenType::Control : TokenType::UserDefined;
      if (added.normalized)
        normalized_tokens_.add(added, normalize_text(spec_.normalizer, added.content));
      else
        raw_tokens_.add(added, added.content);
    }
  }
}

std::vector<int32_t> HfTokenizer::encode_text(std::string_view text) const {
  if (text.size() > kMaxTextBytes)
    fail_input(source(), "a text of " + std::to_string(text.size()) + " bytes is too long to encode at once (at most " +
                             std::to_string(kMaxTextBytes) + "); encode it in parts");
  std::string repaired;
  if (!utf8::is_valid(text)) {
    utf8::append_lossy(repaired, text);
    text = repaired;
  }
  std::vector<int32_t> ids;
  std::unordered_map<std::string, std::vector<int32_t>> words;  // word -> its ids, within this call
  const auto encode_piece = [&](std::string_view piece, bool at_text_start) {
    const std::string normalized = normalize_text(spec_.normalizer, piece);
    bool first = at_text_start;
    for (const AddedTokenFinder::Piece& part : normalized_tokens_.split(normalized)) {
      if (part.id >= 0) {
        ids.push_back(part.id);
      } else {
        for (std::string& word : pre_tokenize(spec_.pre_tokenizer, part.text, first)) {
          auto [entry, is_new] = words.try_emplace(std::move(word));
          if (is_new) bpe_.encode_word(entry->first, entry->second);
          ids.insert(ids.end(), entry->second.begin(), entry->second.end());
        }
      }
      first = false;
    }
  };
  for (const AddedTokenFinder::Piece& piece : raw_tokens_.split(text)) {
    if (piece.id >= 0)
      ids.push_back(piece.id);
    else
      encode_piece(piece.text, piece.text.data() == text.data());
  }
  return ids;
}

std::string HfTokenizer::decode_ids(std::span<const int32_t> ids) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids)
    if (types_[id] != TokenType::Control) tokens.push_back(pieces_[id]);
  return decoder_.decode(std::move(tokens));
}

size_t HfTokenizer::final_prefix(std::span<const int32_t> ids) const {
  // The decoder never sees special tokens: ask about the others, then map the count back.
  std::vector<std::string_view> tokens;
  std::vector<size_t> index;  // of each of them in `ids`
  for (size_t i = 0; i < ids.size(); ++i) {
    if (types_[ids[i]] == TokenType::Control) continue;
    tokens.push_back(pieces_[ids[i]]);
    index.push_back(i);
  }
  const size_t final_tokens = decoder_.final_prefix(tokens);
  return final_tokens == tokens.size() ? ids.size() : index[final_tokens];
}

}  // namespace ll
