// torch.save checkpoints written by PyTorch itself (tests/reference/torch_save_oracle.py): every
// tensor read back equals what PyTorch saved, element for element; code-carrying and otherwise
// unreadable files are refused without running anything.
#include "formats/torch_bin.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include "formats/safetensors.h"
#include "formats/tensor_store.h"
#include "support/test_support.h"
#include "unit/formats/formats_test_util.h"

namespace ll {
namespace {

using test::expect_input_error;
namespace fs = std::filesystem;

// Runs the oracle once for the whole suite.
class TorchSaveFiles : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!test::have_torch()) return;
    dir_ = new test::TempDir();
    written_ = test::run_oracle("torch_save_oracle.py", {dir_->path()});
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    LL_REQUIRE_TORCH();
    ASSERT_TRUE(written_) << "torch_save_oracle.py failed";
  }
  static std::string file(const std::string& name) { return dir_->file(name); }

  static test::TempDir* dir_;
  static bool written_;
};
test::TempDir* TorchSaveFiles::dir_ = nullptr;
bool TorchSaveFiles::written_ = false;

// Same dtype, shape and every element's bits; reports the first element that differs.
void expect_same_tensor(const Tensor& got, const Tensor& want, const std::string& name) {
  ASSERT_EQ(dtype_name(got.dtype), std::string(dtype_name(want.dtype))) << name;
  ASSERT_EQ(got.shape_str(), want.shape_str()) << name;
  ASSERT_TRUE(got.is_contiguous()) << name;
  const size_t elem = dtype_size(got.dtype);
  for (int64_t i = 0; i < got.numel(); ++i) {
    if (std::memcmp(static_cast<const char*>(got.data) + i * elem, static_cast<const char*>(want.data) + i * elem,
                    elem) != 0) {
      ADD_FAILURE() << name << ": element " << i << " differs";
      return;
    }
  }
}

// Every tensor of NAME.expected.safetensors equals the one of NAME.bin; returns how many.
size_t expect_matches_expected(const TorchBinFile& bin, const std::string& expected_path) {
  const SafetensorsFile expected(expected_path);
  for (const std::string& name : expected.names()) {
    EXPECT_TRUE(bin.has(name)) << name;
    if (bin.has(name)) expect_same_tensor(bin.get(name), expected.tensor(name), name);
  }
  return expected.names().size();
}

TEST_F(TorchSaveFiles, StateDictOfEveryLayoutMatchesPyTorch) {
  const std::string path = file("state.bin");
  const TorchBinFile bin = TorchBinFile::open(path);
  const size_t readable = expect_matches_expected(bin, file("state.expected.safetensors"));
  EXPECT_EQ(readable, 17u);
  const std::vector<std::string> names = bin.names();
  EXPECT_EQ(names.size(), readable + 3);  // + the three refused by get()
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));

  // Contiguous tensors of directly readable dtypes are used in place, the rest copied once.
  for (const char* name :
       {"f32.odd", "f16.odd", "bf16.odd", "shared.whole", "shared.slice", "param", "scalar", "empty", "int32"})
    EXPECT_TRUE(bin.in_place(name)) << name;
  for (const char* name :
       {"f32.transposed", "bf16.transposed", "f16.permuted", "shared.strided", "tied.a", "tied.b", "int64", "f64"})
    EXPECT_FALSE(bin.in_place(name)) << name;
  // A slice shares its storage with the whole: 7 elements in.
  EXPECT_EQ(static_cast<const float*>(bin.get("shared.slice").data),
            static_cast<const float*>(bin.get("shared.whole").data) + 7);
  // One tensor under two names is copied once.
  EXPECT_EQ(bin.get("tied.a").data, bin.get("tied.b").data);

  EXPECT_TRUE(bin.entry("scalar").shape.empty());
  EXPECT_EQ(bin.get("scalar").shape_str(), "[1]");
  EXPECT_EQ(bin.entry("f64").file_dtype, "F64");
  EXPECT_EQ(bin.get("f64").dtype, DType::F32);
  EXPECT_EQ(bin.entry("int64").file_dtype, "I64");
  EXPECT_EQ(bin.get("int64").dtype, DType::I32);
  EXPECT_EQ(bin.get("f32.odd", {7, 13}).shape_str(), "[7, 13]");

  expect_input_error([&] { bin.get("refused.int64_big"); },
                     {path, "tensor 'refused.int64_big' has dtype I64", "I64 as I32 when every value fits"});
  expect_input_error([&] { bin.get("refused.uint8"); }, {path, "tensor 'refused.uint8' has dtype U8"});
  expect_input_error([&] { bin.get("refused.five_dims"); }, {path, "'refused.five_dims' has 5 dimensions"});
  expect_input_error(
      [&] {
        bin.get("f32.odd", {13, 7});
      },
      {"tensor 'f32.odd' in " + path, "expected shape [13, 7], found [7, 13]"});
  expect_input_error([&] { bin.get("model.norm.weight"); }, {"missing tensor 'model.norm.weight' in " + path});
}

TEST_F(TorchSaveFiles, OrderedDictInEveryPickleProtocolAndZipLayout) {
  // comment.bin: rewritten by Python's zipfile with an archive comment and no alignment padding.
  for (const char* name : {"ordered.bin", "proto4.bin", "proto5.bin", "comment.bin"}) {
    SCOPED_TRACE(name);
    const TorchBinFile bin = TorchBinFile::open(file(name));
    EXPECT_EQ(expect_matches_expected(bin, file("ordered.expected.safetensors")), 3u);
    EXPECT_EQ(bin.names(), (std::vector<std::string>{"a.second", "m.third", "z.first"}));
  }
  // Without torch's padding the f32 storage starts off its 4-byte grid and is copied.
  const TorchBinFile unaligned = TorchBinFile::open(file("comment.bin"));
  EXPECT_FALSE(unaligned.in_place("z.first"));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(unaligned.get("z.first").data) % 64, 0u);
}

TEST_F(TorchSaveFiles, PeftAdapterAndLongLoraTrainableParams) {
  const TorchBinFile adapter = TorchBinFile::open(file("adapter_model.bin"));
  EXPECT_EQ(expect_matches_expected(adapter, file("adapter_model.expected.safetensors")), 16u);
  const std::string q = "base_model.model.model.layers.1.self_attn.q_proj.";
  EXPECT_EQ(adapter.get(q + "lora_A.weight", {8, 24}).dtype, DType::F16);
  EXPECT_EQ(adapter.get(q + "lora_B.weight", {24, 8}).dtype, DType::F16);

  const TorchBinFile trainable = TorchBinFile::open(file("trainable_params.bin"));
  EXPECT_EQ(expect_matches_expected(trainable, file("trainable_params.expected.safetensors")), 6u);
  const Tensor embed = trainable.get("base_model.model.model.embed_tokens.weight", {32001, 24});
  EXPECT_EQ(embed.dtype, DType::BF16);
  EXPECT_TRUE(trainable.in_place("base_model.model.model.embed_tokens.weight"));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(embed.data) % 64, 0u);  // torch aligns storages to 64 bytes
}

TEST_F(TorchSaveFiles, ShardedHfDirectoryAndSingleFile) {
  const std::string dir = file("hf");
  const TensorStore store = TensorStore::open_hf_dir(dir);
  const SafetensorsFile expected(file("hf.expected.safetensors"));
  std::vector<std::string> expected_names = expected.names();
  std::sort(expected_names.begin(), expected_names.end());
  EXPECT_EQ(store.names(), expected_names);
  for (const std::string& name : expected.names()) expect_same_tensor(store.get(name), expected.tensor(name), name);
  EXPECT_EQ(store.file_of("lm_head.weight"), dir + "/pytorch_model-00002-of-00002.bin");
  EXPECT_EQ(store.get("model.norm.weight", {8}).shape_str(), "[8]");
  expect_input_error([&] { store.get("model.layers.1.mlp.up_proj.weight"); },
                     {"missing tensor 'model.layers.1.mlp.up_proj.weight' in " + dir});
  expect_input_error(
      [&] { store.get("model.norm.weight", {9}); },
      {"tensor 'model.norm.weight' in " + dir + "/pytorch_model-00002-of-00002.bin", "expected shape [9], found [8]"});

  test::TempDir single;
  fs::copy_file(file("ordered.bin"), single.file("pytorch_model.bin"));
  const TensorStore one = TensorStore::open_hf_dir(single.path());
  EXPECT_EQ(one.names().size(), 3u);
  EXPECT_EQ(one.source(), single.path());
  expect_input_error([&] { TensorStore::open_hf_dir(dir + "/nowhere"); },
                     {dir + "/nowhere", "pytorch_model.bin or pytorch_model.bin.index.json in this directory"});

  test::TempDir broken;
  fs::copy_file(file("hf/pytorch_model-00001-of-00002.bin"), broken.file("pytorch_model-00001-of-00002.bin"));
  fs::copy_file(file("hf/pytorch_model.bin.index.json"), broken.file("pytorch_model.bin.index.json"));
  expect_input_error([&] { TensorStore::open_hf_dir(broken.path()); },
                     {broken.file("pytorch_model.bin.index.json"), "pytorch_model-00002-of-00002.bin does not exist"});
}

TEST_F(TorchSaveFiles, CodeInThePickleIsRefusedAndNeverRuns) {
  expect_input_error([&] { TorchBinFile::open(file("evil_system.bin")); },
                     {file("evil_system.bin"), "evil_system/data.pkl", "forbidden global 'posix.system'",
                      "only tensor data can be loaded"});
  expect_input_error([&] { TorchBinFile::open(file("evil_eval.bin")); },
                     {file("evil_eval.bin"), "forbidden global 'builtins.eval'"});
  EXPECT_FALSE(fs::exists(file("PWNED")));
}

TEST_F(TorchSaveFiles, FilesThatAreNotAStateDictAreRefused) {
  expect_input_error([&] { TorchBinFile::open(file("legacy.bin")); },
                     {file("legacy.bin"), "legacy torch.save format", "re-save it with torch >= 1.6"});
  expect_input_error([&] { TorchBinFile::open(file("list.bin")); },
                     {file("list.bin"), "expected a dict of tensor names to tensors", "found a list of 2"});
  expect_input_error([&] { TorchBinFile::open(file("nested.bin")); },
                     {file("nested.bin"), "'model' is a dict of 1, expected a tensor"});
  expect_input_error([&] { TorchBinFile::open(file("deflated.bin")); },
                     {file("deflated.bin"), "entry 'ordered/data/", "compressed (method 8, deflate)"});
  expect_input_error([&] { TorchBinFile::open(file("scripted.pt")); }, {file("scripted.pt"), "TorchScript"});
}

// 1 if the file opened and every readable tensor could be viewed, 0 on InputError; anything else
// (another exception, a crash, a sanitizer report) fails the test.
int outcome(const std::string& path) {
  try {
    const TorchBinFile bin = TorchBinFile::open(path);
    for (const std::string& name : bin.names())
      if (bin.entry(name).supported && bin.entry(name).shape.size() <= 4) bin.get(name);
    return 1;
  } catch (const InputError&) {
    return 0;
  }
}

TEST_F(TorchSaveFiles, EveryTruncationIsRefused) {
  const std::string bytes = test::read_file(file("ordered.bin"));
  const std::string path = dir_->file("cut.bin");
  for (size_t n = 0; n < bytes.size(); ++n) {
    test::write_file(path, bytes.substr(0, n));
    EXPECT_EQ(outcome(path), 0) << "accepted ordered.bin cut to " << n << " bytes";
  }
}

TEST_F(TorchSaveFiles, RandomDamageIsReadOrRefusedNeverACrash) {
  const std::string good = test::read_file(file("state.bin"));
  const std::string path = dir_->file("damaged.bin");
  std::mt19937 rng(77);
  int refused = 0;
  for (int trial = 0; trial < 600; ++trial) {
    std::string bytes = good;
    for (int i = 0, n = 1 + int(rng() % 3); i < n; ++i) {
      const size_t pos = rng() % bytes.size();
      bytes[pos] = rng() % 2 ? char(bytes[pos] + int(rng() % 5) - 2) : char(rng());
    }
    test::write_file(path, bytes);
    refused += 1 - outcome(path);
  }
  EXPECT_GT(refused, 30);  // damage to the pickle and the directories is detected
}

}  // namespace
}  // namespace ll
