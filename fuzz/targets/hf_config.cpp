// Fuzz target "hf_config": an HF config.json, parsed, validated and written back as merge writes it.
#include "formats/llama_config.h"
#include "fuzz_input.h"
#include "targets.h"

void ll::fuzz::hf_config(const uint8_t* data, size_t size) {
  const std::string path = ll::fuzz::write_input("config.json", data, size);
  ll::fuzz::expect_input_errors_only([&] {
    const ll::LlamaConfig config = ll::parse_hf_config(path);
    ll::validate_llama_config(config, path);
    ll::to_hf_config_json(config).dump();
  });
}
