// Fuzz target "adapter_config": a PEFT adapter_config.json, read, its modules_to_save matched.
#include "formats/peft.h"
#include "fuzz_input.h"
#include "targets.h"

void ll::fuzz::adapter_config(const uint8_t* data, size_t size) {
  const std::string path = ll::fuzz::write_input("adapter_config.json", data, size);
  ll::fuzz::expect_input_errors_only([&] {
    const PeftLoraConfig config = ll::read_peft_config(path);
    ll::peft_selects(config.modules_to_save, "model.layers.0.input_layernorm");
  });
}
