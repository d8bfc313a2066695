// The fuzz targets: one function per parser of outside input, each fed arbitrary bytes. A target
// returns normally when the parser accepts the input or throws ll::InputError; anything else —
// another exception, a sanitizer report, a hang, unbounded memory — is a finding. The same
// functions run under libFuzzer (fuzz/libfuzzer_main.cpp, one executable per target) and in
// test_reliability, over every seed (fuzz/corpus/<name>) and every past finding
// (fuzz/regressions/<name>).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ll::fuzz {

void safetensors(const uint8_t* data, size_t size);       // a .safetensors file
void shard_index(const uint8_t* data, size_t size);       // model.safetensors.index.json
void gguf(const uint8_t* data, size_t size);              // a GGUF file: metadata, tensors, vocab
void hf_config(const uint8_t* data, size_t size);         // config.json
void adapter_config(const uint8_t* data, size_t size);    // adapter_config.json
void pickle(const uint8_t* data, size_t size);            // the restricted pickle machine
void torch_bin(const uint8_t* data, size_t size);         // a torch.save ZIP archive
void sft_json(const uint8_t* data, size_t size);          // LongAlpaca SFT JSON
void pretrain_data(const uint8_t* data, size_t size);     // JSONL, text and token files
void tokenizer_model(const uint8_t* data, size_t size);   // a SentencePiece tokenizer.model
void tokenizer_json(const uint8_t* data, size_t size);    // a Hugging Face tokenizer.json
void checkpoint_state(const uint8_t* data, size_t size);  // a training checkpoint's state.json

struct Target {
  std::string name;  // also the corpus directory's and the fuzzer's name (fuzz_<name>)
  void (*run)(const uint8_t*, size_t);
};
const std::vector<Target>& all_targets();

}  // namespace ll::fuzz
