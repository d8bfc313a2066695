#include "text/sentencepiece_model.h"

#include <cstring>

#include "core/error.h"

namespace ll {
namespace {

// ---- protobuf wire format ----------------------------------------------------------------
enum WireType : uint32_t { Varint = 0, Fixed64 = 1, LengthDelimited = 2, Fixed32 = 5 };

// Reads one message's fields in order; every read is checked against the end of the buffer.
class WireReader {
 public:
  WireReader(std::string_view bytes, const std::string& where) : rest_(bytes), where_(where) {}

  bool done() const { return rest_.empty(); }

  // The next field's number and wire type.
  std::pair<uint32_t, uint32_t> next_key() {
    const uint64_t key = varint();
    return {static_cast<uint32_t>(key >> 3), static_cast<uint32_t>(key & 7)};
  }

  uint64_t varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (rest_.empty()) fail("a varint runs past the end of the data");
      const uint8_t byte = static_cast<uint8_t>(rest_[0]);
      rest_.remove_prefix(1);
      value |= static_cast<uint64_t>(byte & 0x7F) << shift;
      if (byte < 0x80) return value;
    }
    fail("a varint is longer than 10 bytes");
  }

  std::string_view bytes() {
    const uint64_t length = varint();
    if (length > rest_.size())
      fail("a field of " + std::to_string(length) + " bytes runs past the end of the data (" +
           std::to_string(rest_.size()) + " bytes left)");
    const std::string_view field = rest_.substr(0, length);
    rest_.remove_prefix(length);
    return field;
  }

  float fixed32_float() {
    if (rest_.size() < 4) fail("a 4-byte field runs past the end of the data");
    float value;
    std::memcpy(&value, rest_.data(), 4);  // little-endian, like the host
    rest_.remove_prefix(4);
    return value;
  }

  void skip(uint32_t wire_type) {
    switch (wire_type) {
      case Varint: varint(); return;
      case LengthDelimited: bytes(); return;
      case Fixed32: take(4); return;
      case Fixed64: take(8); return;
      default: fail("unsupported protobuf wire type " + std::to_string(wire_type));
    }
  }

  void expect(uint32_t wire_type, uint32_t expected, const char* field) {
    if (wire_type != expected)
      fail_expected(where_, field, "protobuf wire type " + std::to_string(expected),
                    std::to_string(wire_type));
  }

 private:
  void take(size_t n) {
    if (rest_.size() < n) fail("a fixed-size field runs past the end of the data");
    rest_.remove_prefix(n);
  }
  [[noreturn]] void fail(const std::string& what) const {
    fail_input(where_, "not a SentencePiece model: " + what);
  }

  std::string_view rest_;
  const std::string& where_;
};

class WireWriter {
 public:
  void varint_field(uint32_t field, uint64_t value) {
    varint(static_cast<uint64_t>(field) << 3 | Varint);
    varint(value);
  }
  // int32 fields are sign-extended to 64 bits on the wire, so -1 takes ten bytes.
  void int32_field(uint32_t field, int32_t value) {
    varint_field(field, static_cast<uint64_t>(static_cast<int64_t>(value)));
  }
  void bytes_field(uint32_t field, std::string_view value) {
    varint(static_cast<uint64_t>(field) << 3 | LengthDelimited);
    varint(value.size());
    out_.append(value);
  }
  void float_field(uint32_t field, float value) {
    varint(static_cast<uint64_t>(field) << 3 | Fixed32);
    char raw[4];
    std::memcpy(raw, &value, 4);
    out_.append(raw, 4);
  }
  const std::string& bytes() const { return out_; }

 private:
  void varint(uint64_t value) {
    while (value >= 0x80) {
      out_.push_back(static_cast<char>((value & 0x7F) | 0x80));
      value >>= 7;
    }
    out_.push_back(static_cast<char>(value));
  }
  std::string out_;
};

// Field numbers in sentencepiece_model.proto.
namespace field {
constexpr uint32_t kModelPieces = 1, kModelTrainerSpec = 2, kModelNormalizerSpec = 3;
constexpr uint32_t kPiecePiece = 1, kPieceScore = 2, kPieceType = 3;
constexpr uint32_t kTrainerModelType = 3, kTrainerVocabSize = 4, kTrainerWhitespaceAsSuffix = 24,
                   kTrainerByteFallback = 35, kTrainerUnkId = 40, kTrainerBosId = 41,
                   kTrainerEosId = 42, kTrainerPadId = 43, kTrainerUnkPiece = 45,
                   kTrainerBosPiece = 46, kTrainerEosPiece = 47;
constexpr uint32_t kNormalizerName = 1, kNormalizerCharsmap = 2, kNormalizerDummyPrefix = 3,
                   kNormalizerRemoveExtraWhitespaces = 4, kNormalizerEscapeWhitespaces = 5;
}  // namespace field

// pieces[index].type, after checking the piece's text: libsentencepiece's trie builder takes
// pieces as C strings and throws through the library (aborting the process) on a piece that is
// empty or starts with a NUL byte, instead of returning an error.
int32_t read_piece_type(std::string_view message, size_t index, const std::string& where) {
  WireReader reader(message, where);
  int32_t type = static_cast<int32_t>(TokenType::Normal);  // the proto's default
  std::string_view text;
  while (!reader.done()) {
    const auto [number, wire_type] = reader.next_key();
    if (number == field::kPieceType) {
      reader.expect(wire_type, Varint, "pieces.type");
      type = static_cast<int32_t>(reader.varint());
    } else if (number == field::kPiecePiece) {
      reader.expect(wire_type, LengthDelimited, "pieces.piece");
      text = reader.bytes();
    } else {
      reader.skip(wire_type);
    }
  }
  if (text.empty() || text.find('\0') != std::string_view::npos)
    fail_input(where, "not a usable SentencePiece model: pieces[" + std::to_string(index) + "] " +
                          (text.empty() ? "is empty" : "contains a NUL byte"));
  return type;
}

void read_trainer_spec(std::string_view message, const std::string& where,
                       SentencePieceModelSpec& spec) {
  WireReader reader(message, where);
  while (!reader.done()) {
    const auto [number, wire_type] = reader.next_key();
    if (number == field::kTrainerModelType) {
      reader.expect(wire_type, Varint, "trainer_spec.model_type");
      spec.model_type = static_cast<int32_t>(reader.varint());
    } else if (number == field::kTrainerByteFallback) {
      reader.expect(wire_type, Varint, "trainer_spec.byte_fallback");
      spec.byte_fallback = reader.varint() != 0;
    } else if (number == field::kTrainerWhitespaceAsSuffix) {
      reader.expect(wire_type, Varint, "trainer_spec.treat_whitespace_as_suffix");
      spec.treat_whitespace_as_suffix = reader.varint() != 0;
    } else {
      reader.skip(wire_type);
    }
  }
}

void read_normalizer_spec(std::string_view message, const std::string& where,
                          SentencePieceModelSpec& spec) {
  WireReader reader(message, where);
  while (!reader.done()) {
    const auto [number, wire_type] = reader.next_key();
    const auto read_bool = [&, wire_type = wire_type](const char* name) {  // clang 14: no binding captures
      reader.expect(wire_type, Varint, name);
      return reader.varint() != 0;
    };
    if (number == field::kNormalizerName) {
      reader.expect(wire_type, LengthDelimited, "normalizer_spec.name");
      spec.normalizer_name = std::string(reader.bytes());
    } else if (number == field::kNormalizerCharsmap) {
      reader.expect(wire_type, LengthDelimited, "normalizer_spec.precompiled_charsmap");
      spec.has_precompiled_charsmap = !reader.bytes().empty();
    } else if (number == field::kNormalizerDummyPrefix) {
      spec.add_dummy_prefix = read_bool("normalizer_spec.add_dummy_prefix");
    } else if (number == field::kNormalizerRemoveExtraWhitespaces) {
      spec.remove_extra_whitespaces = read_bool("normalizer_spec.remove_extra_whitespaces");
    } else if (number == field::kNormalizerEscapeWhitespaces) {
      spec.escape_whitespaces = read_bool("normalizer_spec.escape_whitespaces");
    } else {
      reader.skip(wire_type);
    }
  }
}

}  // namespace

SentencePieceModelSpec parse_sentencepiece_model(std::string_view serialized,
                                                 const std::string& where) {
  SentencePieceModelSpec spec;
  WireReader reader(serialized, where);
  while (!reader.done()) {
    const auto [number, wire_type] = reader.next_key();
    if (number == field::kModelPieces) {
      reader.expect(wire_type, LengthDelimited, "pieces");
      spec.piece_types.push_back(read_piece_type(reader.bytes(), spec.piece_types.size(), where));
    } else if (number == field::kModelTrainerSpec) {
      reader.expect(wire_type, LengthDelimited, "trainer_spec");
      read_trainer_spec(reader.bytes(), where, spec);
    } else if (number == field::kModelNormalizerSpec) {
      reader.expect(wire_type, LengthDelimited, "normalizer_spec");
      read_normalizer_spec(reader.bytes(), where, spec);
    } else {
      reader.skip(wire_type);
    }
  }
  return spec;
}

std::string serialize_sentencepiece_model(const Vocab& vocab) {
  bool has_byte_pieces = false;
  WireWriter model;
  for (int id = 0; id < vocab.size(); ++id) {
    WireWriter piece;
    piece.bytes_field(field::kPiecePiece, vocab.pieces[id]);
    piece.float_field(field::kPieceScore, vocab.scores[id]);
    piece.varint_field(field::kPieceType, static_cast<uint32_t>(vocab.types[id]));
    model.bytes_field(field::kModelPieces, piece.bytes());
    has_byte_pieces |= vocab.type(id) == TokenType::Byte;
  }

  WireWriter trainer;
  trainer.varint_field(field::kTrainerModelType, SentencePieceModelSpec::Bpe);
  trainer.int32_field(field::kTrainerVocabSize, vocab.size());
  trainer.varint_field(field::kTrainerByteFallback, has_byte_pieces);
  trainer.int32_field(field::kTrainerUnkId, vocab.unk);
  trainer.int32_field(field::kTrainerBosId, vocab.bos);
  trainer.int32_field(field::kTrainerEosId, vocab.eos);
  trainer.int32_field(field::kTrainerPadId, -1);
  // SentencePieceProcessor finds unk/bos/eos by these names.
  trainer.bytes_field(field::kTrainerUnkPiece, vocab.pieces[vocab.unk]);
  if (vocab.bos >= 0) trainer.bytes_field(field::kTrainerBosPiece, vocab.pieces[vocab.bos]);
  if (vocab.eos >= 0) trainer.bytes_field(field::kTrainerEosPiece, vocab.pieces[vocab.eos]);
  model.bytes_field(field::kModelTrainerSpec, trainer.bytes());

  WireWriter normalizer;
  normalizer.bytes_field(field::kNormalizerName, "identity");
  normalizer.varint_field(field::kNormalizerDummyPrefix, vocab.add_dummy_prefix);
  normalizer.varint_field(field::kNormalizerRemoveExtraWhitespaces, false);
  normalizer.varint_field(field::kNormalizerEscapeWhitespaces, true);
  model.bytes_field(field::kModelNormalizerSpec, normalizer.bytes());
  return model.bytes();
}

}  // namespace ll
