// Fuzz target "shard_index": model.safetensors.index.json of a sharded HF directory. The input is the index;
// the directory also holds two small valid shards it may name (a.safetensors: "x", "y";
// b.safetensors: "z"), so the fuzzer reaches the cross-checks between index and shards.
#include <filesystem>

#include "formats/safetensors_writer.h"
#include "formats/tensor_store.h"
#include "fuzz_input.h"
#include "targets.h"

namespace {

const std::string& shard_dir() {
  static const std::string dir = [] {
    const std::string d = ll::fuzz::scratch_dir() + "/hf";
    std::filesystem::create_directories(d);
    static float values[6] = {0.5f, -1.25f, 2.f, 3.5f, -0.75f, 1.f};
    const ll::Tensor x = ll::Tensor::view(values, ll::DType::F32, {2, 2});
    const ll::Tensor y = ll::Tensor::view(values + 4, ll::DType::F32, {2});
    const ll::Tensor z = ll::Tensor::view(values + 1, ll::DType::F32, {1, 3});
    ll::write_safetensors(d + "/a.safetensors", {{"x", x}, {"y", y}});
    ll::write_safetensors(d + "/b.safetensors", {{"z", z}});
    return d;
  }();
  return dir;
}

}  // namespace

void ll::fuzz::shard_index(const uint8_t* data, size_t size) {
  const std::string dir = shard_dir();
  ll::fuzz::write_input("hf/model.safetensors.index.json", data, size);
  ll::fuzz::expect_input_errors_only([&] {
    const ll::TensorStore store = ll::TensorStore::open_hf_dir(dir);
    for (const std::string& name : store.names()) {
      const ll::Tensor t = store.get(name);
      ll::fuzz::touch(t.data, t.nbytes());
      store.file_of(name);
    }
  });
}
