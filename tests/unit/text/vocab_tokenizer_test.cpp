// VocabTokenizer on small hand-made and random vocabularies, checked by hand and against
// libsentencepiece loading the same vocabulary (serialize_sentencepiece_model). No files needed.
#include <gtest/gtest.h>

#include <set>

#include "core/error.h"
#include "text/sentencepiece_model.h"
#include "text/sentencepiece_tokenizer.h"
#include "text/vocab_tokenizer.h"
#include "text_test_data.h"

namespace ll::test {
namespace {

const std::string kSpace(kSpaceSymbol);

// <unk>, <s>, </s>, optionally the 256 byte pieces, then `pieces` as (text, score, type).
struct PieceSpec {
  std::string text;
  float score;
  TokenType type = TokenType::Normal;
};
Vocab make_vocab(const std::vector<PieceSpec>& pieces, bool byte_fallback, bool dummy_prefix) {
  Vocab v;
  v.source = "test vocabulary";
  const auto add = [&](std::string text, float score, TokenType type) {
    v.pieces.push_back(std::move(text));
    v.scores.push_back(score);
    v.types.push_back(static_cast<int32_t>(type));
  };
  add("<unk>", 0, TokenType::Unknown);
  add("<s>", 0, TokenType::Control);
  add("</s>", 0, TokenType::Control);
  if (byte_fallback)
    for (int b = 0; b < 256; ++b) add(byte_piece(static_cast<uint8_t>(b)), 0, TokenType::Byte);
  for (const auto& p : pieces) add(p.text, p.score, p.type);
  v.unk = 0;
  v.bos = 1;
  v.eos = 2;
  v.add_dummy_prefix = dummy_prefix;
  return v;
}

// Encodes with ours and with libsentencepiece over the same vocabulary; returns the pieces.
std::vector<std::string> encode_pieces(const Vocab& vocab, const std::string& text) {
  const VocabTokenizer ours(vocab);
  const auto reference =
      SentencePieceTokenizer::from_serialized(serialize_sentencepiece_model(vocab), "serialized");
  const auto ids = ours.encode(text, false);
  EXPECT_EQ(ids, reference->encode(text, false)) << "text '" << text << "'";
  std::vector<std::string> pieces;
  for (int32_t id : ids) pieces.push_back(ours.piece(id));
  return pieces;
}

using Pieces = std::vector<std::string>;

TEST(VocabTokenizer, MergesTheHighestScoringPairFirst) {
  const auto vocab = make_vocab({{"a", -10}, {"b", -10}, {"c", -10}, {"ab", -2}, {"bc", -1}}, true, false);
  EXPECT_EQ(encode_pieces(vocab, "abc"), (Pieces{"a", "bc"}));
}

TEST(VocabTokenizer, BreaksScoreTiesLeftmostFirst) {
  const auto vocab = make_vocab({{"a", -10}, {"b", -10}, {"c", -10}, {"ab", -1}, {"bc", -1}}, true, false);
  EXPECT_EQ(encode_pieces(vocab, "abc"), (Pieces{"ab", "c"}));
  EXPECT_EQ(encode_pieces(vocab, "abcabc"), (Pieces{"ab", "c", "ab", "c"}));
  EXPECT_EQ(encode_pieces(vocab, "bcab"), (Pieces{"bc", "ab"}));
}

TEST(VocabTokenizer, KeepsMergingIntoLongerPieces) {
  const auto vocab = make_vocab({{"a", -10}, {"b", -10}, {"ab", -1}, {"abab", -2}, {"ababa", -3}}, true, false);
  EXPECT_EQ(encode_pieces(vocab, "ababa"), (Pieces{"ababa"}));
  EXPECT_EQ(encode_pieces(vocab, "ababab"), (Pieces{"abab", "ab"}));
}

TEST(VocabTokenizer, SplitsUnusedPiecesBackIntoTheirParts) {
  const auto vocab = make_vocab({{"a", -10}, {"b", -10}, {"c", -10}, {"d", -10},
                                 {"ab", -1, TokenType::Unused}, {"abc", -2}},
                                true, false);
  EXPECT_EQ(encode_pieces(vocab, "abc"), (Pieces{"abc"}));
  EXPECT_EQ(encode_pieces(vocab, "abd"), (Pieces{"a", "b", "d"}));
}

TEST(VocabTokenizer, KeepsUserDefinedPiecesWhole) {
  const auto vocab = make_vocab({{"a", -10}, {"b", -10}, {"c", -10}, {"d", -10}, {"ac", -1},
                                 {"db", -1}, {"cd", -5, TokenType::UserDefined},
                                 {"cdc", -5, TokenType::UserDefined}},
                                true, false);
  // "cd" is matched whole (the longest user-defined match) and never merged with neighbours.
  EXPECT_EQ(encode_pieces(vocab, "acdb"), (Pieces{"a", "cd", "b"}));
  EXPECT_EQ(encode_pieces(vocab, "acdcb"), (Pieces{"a", "cdc", "b"}));
  EXPECT_EQ(encode_pieces(vocab, "ac"), (Pieces{"ac"}));
}

TEST(VocabTokenizer, FallsBackToBytesForMissingCharacters) {
  const auto vocab = make_vocab({{kSpace, -1}, {"a", -1}}, true, true);
  // "é" is not in the vocabulary: its two UTF-8 bytes.
  EXPECT_EQ(encode_pieces(vocab, "a\xC3\xA9 a"),
            (Pieces{kSpace, "a", "<0xC3>", "<0xA9>", kSpace, "a"}));
  // A malformed byte reads as U+FFFD, whose bytes are EF BF BD.
  EXPECT_EQ(encode_pieces(vocab, "\xFF"), (Pieces{kSpace, "<0xEF>", "<0xBF>", "<0xBD>"}));
}

TEST(VocabTokenizer, WithoutBytePiecesARunOfUnknownCharactersIsOneUnk) {
  const auto vocab = make_vocab({{kSpace, -1}, {"a", -1}, {kSpace + "a", -1}}, false, true);
  EXPECT_EQ(encode_pieces(vocab, "axy a zz"),
            (Pieces{kSpace + "a", "<unk>", kSpace + "a", kSpace, "<unk>"}));
  EXPECT_EQ(VocabTokenizer(vocab).decode(VocabTokenizer(vocab).encode("axy", false)),
            "a \xE2\x81\x87 ");
}

TEST(VocabTokenizer, LlamaNormalisation) {
  const auto vocab = make_vocab({{kSpace, -1}, {"a", -1}, {"\t", -1}, {"\n", -1}}, true, true);
  // The dummy prefix, each space a "▁", nothing collapsed, other whitespace kept as is.
  EXPECT_EQ(encode_pieces(vocab, "  a\t\n a "),
            (Pieces{kSpace, kSpace, kSpace, "a", "\t", "\n", kSpace, "a", kSpace}));
  EXPECT_TRUE(encode_pieces(vocab, "").empty());
  const auto without_prefix = make_vocab({{kSpace, -1}, {"a", -1}}, true, false);
  EXPECT_EQ(encode_pieces(without_prefix, "a a"), (Pieces{"a", kSpace, "a"}));
}

TEST(VocabTokenizer, DecodingDropsOneLeadingSpaceAndReassemblesBytes) {
  const auto vocab = make_vocab({{kSpace, -1}, {kSpace + "a", -1}, {"b", -1}}, true, true);
  const VocabTokenizer t(vocab);
  const int space = t.vocab_size() - 3, space_a = t.vocab_size() - 2, b = t.vocab_size() - 1;
  const int byte_c3 = 3 + 0xC3, byte_a9 = 3 + 0xA9;
  const auto decode = [&](std::vector<int32_t> ids) { return t.decode(ids); };
  EXPECT_EQ(decode({space_a}), "a");
  EXPECT_EQ(decode({1, space_a, 2}), "a");            // control tokens vanish
  EXPECT_EQ(decode({space, space_a}), " a");          // only one space is dropped
  EXPECT_EQ(decode({b, space_a}), "b a");
  EXPECT_EQ(decode({byte_c3, byte_a9, space_a}), "\xC3\xA9 a");
  EXPECT_EQ(decode({byte_c3, b}), "\xEF\xBF\xBD" "b");  // a cut-off character is U+FFFD
  EXPECT_EQ(decode({0, space_a}), " \xE2\x81\x87  a");  // <unk> is " ⁇ "
  EXPECT_THROW(decode({t.vocab_size()}), InputError);
  EXPECT_THROW(decode({-1}), InputError);
}

// Random small vocabularies (ties in score, unused and user-defined pieces, missing
// characters, with and without byte fallback and dummy prefix) against libsentencepiece.
TEST(VocabTokenizer, MatchesSentencePieceOnRandomVocabularies) {
  const std::vector<std::string> alphabet = {"a", "b", "c", "d", kSpace, "\xC3\xA9", "\xE4\xB8\xAD",
                                             "\xF0\x9F\x98\x80"};
  const std::vector<std::string> text_alphabet = {"a", "b", "c", "d", " ", " ", "\xC3\xA9",
                                                  "\xE4\xB8\xAD", "\xF0\x9F\x98\x80", "z", "\n", "\xFF"};
  std::mt19937 rng(42);
  const auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int round = 0; round < 160; ++round) {
    std::vector<PieceSpec> pieces;
    std::set<std::string> seen;
    for (const auto& c : alphabet)
      if (uniform(0, 9) > 0) pieces.push_back({c, static_cast<float>(-uniform(1, 8))});
    for (int k = 0; k < 60; ++k) {
      std::string text;
      for (int n = uniform(2, 5); n > 0; --n) text += alphabet[uniform(0, alphabet.size() - 1)];
      if (!seen.insert(text).second || text == "a") continue;
      const int kind = uniform(0, 19);
      // Unused pieces only in every fourth vocabulary: without them the text is merged in chunks.
      const bool allow_unused = round % 4 == 0;
      const TokenType type = kind == 0                  ? TokenType::UserDefined
                             : kind < 3 && allow_unused ? TokenType::Unused
                                                        : TokenType::Normal;
      pieces.push_back({text, static_cast<float>(-uniform(1, 8)), type});
    }
    // Single characters must not also appear as multi-character pieces' duplicates.
    std::set<std::string> all;
    std::vector<PieceSpec> unique;
    for (const auto& p : pieces)
      if (all.insert(p.text).second) unique.push_back(p);
    const Vocab vocab = make_vocab(unique, round % 2 == 0, round % 3 != 0);
    const VocabTokenizer ours(vocab);
    const auto reference =
        SentencePieceTokenizer::from_serialized(serialize_sentencepiece_model(vocab), "serialized");
    for (int t = 0; t < 40; ++t) {
      std::string text;
      for (int n = uniform(0, 30); n > 0; --n) text += text_alphabet[uniform(0, text_alphabet.size() - 1)];
      const auto ids = ours.encode(text, false);
      ASSERT_EQ(ids, reference->encode(text, false)) << "round " << round << " text '" << text << "'";
      ASSERT_EQ(ours.decode(ids), reference->decode(ids)) << "round " << round;
    }
  }
}

TEST(VocabTokenizer, RejectsInvalidVocabularies) {
  const Vocab good = make_vocab({{"a", -1}}, true, true);
  EXPECT_NO_THROW(VocabTokenizer{good});
  const auto expect_rejected = [](Vocab v, const std::string& message_part) {
    try {
      VocabTokenizer t(std::move(v));
      ADD_FAILURE() << "accepted; expected an error mentioning '" << message_part << "'";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(message_part), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("test vocabulary"), std::string::npos) << e.what();
    }
  };
  Vocab v = good;
  v.scores.pop_back();
  expect_rejected(v, "scores");
  v = good;
  v.types.back() = 9;
  expect_rejected(v, "token type");
  v = good;
  v.pieces[3] = "<0xZZ>";
  expect_rejected(v, "<0xXX>");
  v = good;
  v.pieces.back() = "<s>";
  v.types.back() = static_cast<int32_t>(TokenType::Control);
  expect_rejected(v, "duplicate");
  v = good;
  v.types[0] = static_cast<int32_t>(TokenType::Normal);
  expect_rejected(v, "unknown type");
  v = good;
  v.unk = 1;
  expect_rejected(v, "unknown token id");
  v = good;
  v.bos = 100000;
  expect_rejected(v, "bos token id");
  v = good;
  v.pieces.clear();
  v.scores.clear();
  v.types.clear();
  expect_rejected(v, "empty");
}

TEST(VocabTokenizer, EncodeWithBosAndEos) {
  const Vocab vocab = make_vocab({{kSpace + "a", -1}}, true, true);
  const VocabTokenizer t(vocab);
  const int32_t space_a = t.vocab_size() - 1;
  EXPECT_EQ(t.encode("a", true, true), (std::vector<int32_t>{1, space_a, 2}));
  Vocab no_specials = vocab;
  no_specials.bos = no_specials.eos = -1;
  const VocabTokenizer plain(no_specials);
  EXPECT_EQ(plain.encode("a", false), (std::vector<int32_t>{space_a}));
  EXPECT_THROW(plain.encode("a", true), InputError);
  EXPECT_THROW(plain.encode("a", false, true), InputError);
}

}  // namespace
}  // namespace ll::test
