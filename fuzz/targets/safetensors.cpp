// Fuzz target "safetensors": one safetensors file — header length, JSON header, dtypes, shapes, data offsets,
// __metadata__ — opened and every readable tensor read through.
#include "formats/safetensors.h"
#include "fuzz_input.h"
#include "targets.h"

void ll::fuzz::safetensors(const uint8_t* data, size_t size) {
  const std::string path = ll::fuzz::write_input("input.safetensors", data, size);
  ll::fuzz::expect_input_errors_only([&] {
    const ll::SafetensorsFile file(path);
    for (const ll::TensorEntry& e : file.entries())
      if (e.supported) {
        const ll::Tensor t = file.tensor(e.name);
        ll::fuzz::touch(t.data, t.nbytes());
      }
  });
}
