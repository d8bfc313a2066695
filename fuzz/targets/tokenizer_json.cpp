// Fuzz target "tokenizer_json": a tokenizer.json (Hugging Face's fast tokenizers) loaded as the CLI
// loads it, then encoding a text with special-token strings and malformed UTF-8, decoding it, and
// streaming the ids back (StreamingDecoder asks the decoder which text is final).
#include "fuzz_input.h"
#include "targets.h"
#include "text/stream_decoder.h"
#include "text/tokenizer.h"

void ll::fuzz::tokenizer_json(const uint8_t* data, size_t size) {
  const std::string path = ll::fuzz::write_input("tokenizer.json", data, size);
  ll::fuzz::expect_input_errors_only([&] {
    const auto tokenizer = ll::load_tokenizer(path);
    const auto ids = tokenizer->encode("Hello, it'S <s>w\xC3\xB6rld</s> 123 \xE2\x82 \xF0\x9F\x98\x80\n\n", true);
    tokenizer->decode(ids);
    ll::StreamingDecoder decoder(*tokenizer);
    for (int32_t id : ids) decoder.push(id);
    decoder.finish();
  });
}
