// Fuzz target "sft_json": LongAlpaca SFT JSON (a list of {instruction, output[, input]}), tokenized into
// examples, batched, and the data cursor saved and restored as a resumed run does.
#include "fuzz_input.h"
#include "targets.h"
#include "small_tokenizer.h"
#include "train/sft_data.h"

void ll::fuzz::sft_json(const uint8_t* data, size_t size) {
  const std::string path = ll::fuzz::write_input("sft.json", data, size);
  ll::fuzz::expect_input_errors_only([&] {
    ll::SftDataOptions options;
    options.context = 24;
    options.length_group = 3;
    const auto source = ll::open_sft_data(path, ll::fuzz::small_tokenizer(), options);
    for (int i = 0; i < 3; ++i) source->next(2);
    const nlohmann::json cursor = source->cursor();
    source->restore(cursor);
    source->next(1);
  });
}
