// Fuzz target "tokenizer_model": a SentencePiece tokenizer.model (protobuf ModelProto): our reader of the fields
// libsentencepiece does not expose, then the tokenizer loaded from it encoding and decoding a text.
#include "fuzz_input.h"
#include "targets.h"
#include "text/sentencepiece_model.h"
#include "text/tokenizer.h"

void ll::fuzz::tokenizer_model(const uint8_t* data, size_t size) {
  ll::fuzz::expect_input_errors_only([&] {
    ll::parse_sentencepiece_model({reinterpret_cast<const char*>(data), size}, "fuzz tokenizer.model");
  });
  const std::string path = ll::fuzz::write_input("tokenizer.model", data, size);
  ll::fuzz::expect_input_errors_only([&] {
    const auto tokenizer = ll::load_tokenizer(path);
    tokenizer->decode(tokenizer->encode("Hello, \xE2\x96\x81world \xff\n", true, true));
  });
}
