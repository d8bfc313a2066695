// Fuzz target "torch_bin": a torch.save file (pytorch_model.bin, adapter_model.bin) — the ZIP directory
// (EOCD, ZIP64 records, local headers), data.pkl through the torch unpickler, storages, strides —
// opened and every readable tensor read through.
#include "formats/torch_bin.h"
#include "fuzz_input.h"
#include "targets.h"

void ll::fuzz::torch_bin(const uint8_t* data, size_t size) {
  const std::string path = ll::fuzz::write_input("input.bin", data, size);
  ll::fuzz::expect_input_errors_only([&] {
    const ll::TorchBinFile file = ll::TorchBinFile::open(path);
    for (const std::string& name : file.names()) {
      ll::fuzz::expect_input_errors_only([&] {
        const ll::Tensor t = file.get(name);
        ll::fuzz::touch(t.data, t.nbytes());
      });
    }
  });
}
