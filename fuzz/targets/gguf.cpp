// Fuzz target "gguf": a GGUF file — header, metadata of every value type, tensor table, alignment and
// data offsets — then what longlora reads from it: the LLaMA config, the `llama` vocabulary (and a
// tokenizer over it, encoding a short text) and every readable tensor.
#include "formats/gguf.h"
#include "formats/gguf_llama.h"
#include "fuzz_input.h"
#include "targets.h"
#include "text/gguf_vocab.h"
#include "text/vocab_tokenizer.h"

void ll::fuzz::gguf(const uint8_t* data, size_t size) {
  const std::string path = ll::fuzz::write_input("input.gguf", data, size);
  ll::fuzz::expect_input_errors_only([&] {
    const ll::GgufFile gguf(path);
    for (const ll::TensorEntry& e : gguf.tensor_entries())
      if (e.supported) {
        const ll::Tensor t = gguf.tensor(e.name);
        ll::fuzz::touch(t.data, t.nbytes());
      }
    ll::fuzz::expect_input_errors_only([&] { ll::config_from_gguf(gguf); });
    const ll::VocabTokenizer tokenizer(ll::load_gguf_vocab(gguf));
    const std::vector<int32_t> ids = tokenizer.encode("Once upon a time, \xE2\x96\x81 \xff", true, true);
    tokenizer.decode(ids);
  });
}
