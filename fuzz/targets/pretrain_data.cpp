// Fuzz target "pretrain_data": pre-training data files. The same bytes are read as a JSONL file ({"text": ...} per
// line), a plain text file and a token file (u16 and u32 ids checked against the vocabulary),
// each packed into rows and batched.
#include "formats/token_file.h"
#include "fuzz_input.h"
#include "targets.h"
#include "small_tokenizer.h"
#include "train/pretrain_data.h"

namespace {

void read_as(const std::string& name, const uint8_t* data, size_t size, ll::TokenDtype dtype) {
  const std::string path = ll::fuzz::write_input(name, data, size);
  ll::fuzz::expect_input_errors_only([&] {
    ll::PretrainDataOptions options;
    options.context = 8;
    options.doc_mask = true;
    options.token_dtype = dtype;
    const auto source = ll::open_pretrain_data(path, ll::fuzz::small_tokenizer(), options);
    for (int i = 0; i < 3; ++i) source->next(2);
    source->restore(source->cursor());
  });
}

}  // namespace

void ll::fuzz::pretrain_data(const uint8_t* data, size_t size) {
  read_as("docs.jsonl", data, size, ll::TokenDtype::U16);
  read_as("doc.txt", data, size, ll::TokenDtype::U16);
  for (const ll::TokenDtype dtype : {ll::TokenDtype::U16, ll::TokenDtype::U32}) {
    const std::string path = ll::fuzz::write_input("tokens.bin", data, size);
    ll::fuzz::expect_input_errors_only([&] {
      const ll::TokenFile tokens = ll::open_token_file(path, dtype, ll::fuzz::small_tokenizer().vocab_size());
      std::vector<int32_t> ids(static_cast<size_t>(tokens.size()));
      tokens.read(0, tokens.size(), ids.data());
    });
    read_as("tokens.bin", data, size, dtype);
  }
}
