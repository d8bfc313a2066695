// Fuzz target "adapter_config": a PEFT adapter_config.json, read and written back.
#include "formats/peft.h"
#include "fuzz_input.h"
#include "targets.h"

void ll::fuzz::adapter_config(const uint8_t* data, size_t size) {
  const std::string path = ll::fuzz::write_input("adapter_config.json", data, size);
  ll::fuzz::expect_input_errors_only([&] { ll::peft_config_json(ll::read_peft_config(path)).dump(); });
}
