#include "formats/tensor_store.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <set>

#include "formats/json_file.h"
#include "formats/safetensors.h"
#include "formats/safetensors_writer.h"
#include "support/test_support.h"
#include "unit/formats/formats_test_util.h"

namespace ll {
namespace {

using test::expect_input_error;
namespace fs = std::filesystem;

struct SevenTensors {
  std::vector<OwnedTensor> owned;
  NamedTensors named;
  SevenTensors() {
    const std::initializer_list<int64_t> shapes[] = {{5, 3}, {17}, {2, 9}, {4, 4}, {1}, {3, 7}, {6}};
    for (int i = 0; i < 7; ++i)
      owned.push_back(test::random_tensor(i % 2 ? DType::BF16 : DType::F32, shapes[i], 10 + i));
    for (int i = 0; i < 7; ++i) named.push_back({"layer." + std::to_string(i) + ".weight", owned[i].view()});
  }
  uint64_t total_bytes() const {
    uint64_t n = 0;
    for (const auto& [name, t] : named) n += t.nbytes();
    return n;
  }
};

TEST(TensorStore, OpensTheRealHfDirectory) {
  LL_REQUIRE_SHARED_DATA();
  const std::string dir = test::shared_path("stories260K-hf");
  const TensorStore store = TensorStore::open_hf_dir(dir);
  EXPECT_EQ(store.names().size(), 48u);
  EXPECT_TRUE(store.has("lm_head.weight"));
  EXPECT_EQ(store.get("model.embed_tokens.weight", {512, 64}).shape_str(), "[512, 64]");
  EXPECT_EQ(store.file_of("model.norm.weight"), dir + "/model.safetensors");
  expect_input_error([&] { store.get("model.layers.9.mlp.up_proj.weight"); },
                     {"missing tensor 'model.layers.9.mlp.up_proj.weight' in " + dir});
  expect_input_error(
      [&] { store.get("model.norm.weight", {65}); },
      {"tensor 'model.norm.weight' in " + dir + "/model.safetensors", "expected shape [65], found [64]"});
}

TEST(TensorStore, ShardedWriteReadsBackThroughTheIndex) {
  test::TempDir dir;
  const SevenTensors t;
  // 100-byte shards of 24..72-byte tensors: 4 shards.
  const auto written = write_safetensors_sharded(dir.path(), "model", t.named, 100, {{"format", "pt"}});
  ASSERT_GT(written.size(), 2u);
  EXPECT_EQ(written.back(), dir.file("model.safetensors.index.json"));
  const size_t n_shards = written.size() - 1;
  char expected_first[64];
  std::snprintf(expected_first, sizeof expected_first, "model-00001-of-%05zu.safetensors", n_shards);
  EXPECT_EQ(written.front(), dir.file(expected_first));
  EXPECT_FALSE(fs::exists(dir.file("model.safetensors")));

  const nlohmann::json index = read_json_file(written.back());
  EXPECT_EQ(index["metadata"]["total_size"].get<uint64_t>(), t.total_bytes());
  EXPECT_EQ(index["weight_map"].size(), 7u);

  const TensorStore store = TensorStore::open_hf_dir(dir.path());
  EXPECT_EQ(store.names().size(), 7u);
  std::set<std::string> files;
  for (const auto& [name, tensor] : t.named) {
    EXPECT_TRUE(test::same_bytes(store.get(name), tensor)) << name;
    files.insert(store.file_of(name));
    EXPECT_EQ(fs::path(store.file_of(name)).filename().string(),
              index["weight_map"][name].get<std::string>());
  }
  EXPECT_EQ(files.size(), n_shards);
  for (size_t i = 0; i + 1 < written.size(); ++i) {
    const TensorStore shard = TensorStore::open_file(written[i]);
    uint64_t bytes = 0;
    for (const auto& name : shard.names()) bytes += shard.entry(name).nbytes;
    // Within the limit, unless a single tensor is larger than it.
    EXPECT_TRUE(bytes <= 100 || shard.names().size() == 1) << written[i];
    EXPECT_EQ(SafetensorsFile(written[i]).metadata().at("format"), "pt");
  }

  // Rewriting with a large limit gives one file and removes the stale index.
  const auto single = write_safetensors_sharded(dir.path(), "model", t.named, t.total_bytes());
  ASSERT_EQ(single.size(), 1u);
  EXPECT_FALSE(fs::exists(dir.file("model.safetensors.index.json")));
  const TensorStore again = TensorStore::open_hf_dir(dir.path());
  for (const auto& [name, tensor] : t.named) EXPECT_TRUE(test::same_bytes(again.get(name), tensor)) << name;
}

TEST(TensorStoreBadInput, IndexPointsAtAMissingShard) {
  test::TempDir dir;
  const SevenTensors t;
  const auto written = write_safetensors_sharded(dir.path(), "model", t.named, 100);
  ASSERT_GT(written.size(), 2u);
  fs::remove(written[1]);
  expect_input_error([&] { TensorStore::open_hf_dir(dir.path()); },
                     {dir.file("model.safetensors.index.json"), written[1], "does not exist"});
}

TEST(TensorStoreBadInput, TensorListedButAbsentFromItsShard) {
  test::TempDir dir;
  const SevenTensors t;
  write_safetensors(dir.file("shard-a.safetensors"), {t.named[0], t.named[1]});
  test::write_file(dir.file("model.safetensors.index.json"),
                   R"({"metadata":{"total_size":1},"weight_map":{"layer.0.weight":"shard-a.safetensors",)"
                   R"("layer.5.weight":"shard-a.safetensors"}})");
  expect_input_error(
      [&] { TensorStore::open_hf_dir(dir.path()); },
      {"model.safetensors.index.json", "tensor 'layer.5.weight'", dir.file("shard-a.safetensors")});
}

TEST(TensorStoreBadInput, MalformedOrMissingIndex) {
  test::TempDir dir;
  expect_input_error([&] { TensorStore::open_hf_dir(dir.path()); },
                     {dir.path(), "no model.safetensors, model.safetensors.index.json, pytorch_model.bin"});
  test::write_file(dir.file("model.safetensors.index.json"), "{\"weight_map\": {\"a\": \"x\",}}");
  expect_input_error([&] { TensorStore::open_hf_dir(dir.path()); },
                     {dir.file("model.safetensors.index.json"), "malformed JSON", "line 1"});
  test::write_file(dir.file("model.safetensors.index.json"), R"({"metadata": {}})");
  expect_input_error([&] { TensorStore::open_hf_dir(dir.path()); }, {"index.json", "weight_map"});
  test::write_file(dir.file("model.safetensors.index.json"), R"({"weight_map": {"a": "../x.safetensors"}})");
  expect_input_error([&] { TensorStore::open_hf_dir(dir.path()); },
                     {"index.json", "weight_map['a']", "a file name in the same directory"});
}

}  // namespace
}  // namespace ll
