// The torch.save writer: PyTorch's own torch.load (weights_only) and zipfile read its files back bit
// for bit (tests/reference/torch_load_oracle.py), and so does longlora's reader; with ZIP64 records
// forced on, the same. CRC-32 against the standard check value.
#include "formats/torch_bin_writer.h"

#include <gtest/gtest.h>

#include "formats/safetensors_writer.h"
#include "formats/torch_bin.h"
#include "support/test_support.h"
#include "unit/formats/formats_test_util.h"

namespace ll {
namespace {

TEST(ZipWriter, Crc32OfTheStandardCheckString) {
  EXPECT_EQ(crc32("123456789", 9), 0xCBF43926u);
  EXPECT_EQ(crc32("6789", 4, crc32("12345", 5)), 0xCBF43926u);  // continued
  EXPECT_EQ(crc32("", 0), 0u);
}

// Odd shapes of every dtype the writer takes, an empty tensor, four dimensions, a 32001-row embedding.
struct WrittenTensors {
  std::vector<OwnedTensor> owned;
  NamedTensors named;
  void add(const std::string& name, DType dtype, std::initializer_list<int64_t> shape) {
    owned.push_back(test::random_tensor(dtype, shape, static_cast<uint32_t>(owned.size() + 7)));
    named.emplace_back(name, owned.back().view());
  }
};

WrittenTensors sample_tensors() {
  WrittenTensors w;
  w.owned.reserve(8);
  w.add("model.embed_tokens.weight", DType::F32, {32001, 3});
  w.add("f16.odd", DType::F16, {5, 3, 9});
  w.add("bf16.odd", DType::BF16, {11});
  w.add("i32", DType::I32, {4});
  w.add("empty", DType::F32, {0, 3});
  w.add("four.dims", DType::F32, {2, 3, 1, 5});
  w.add("a.norm.weight", DType::F32, {7});  // after "model.": the dict keeps the given order
  return w;
}

TEST(TorchBinWriter, LongloraReadsBackEveryTensor) {
  test::TempDir dir;
  const WrittenTensors w = sample_tensors();
  for (uint64_t zip64_from : {ZipWriter::kZip64Limit, uint64_t{0}}) {
    SCOPED_TRACE(zip64_from);
    const std::string path = dir.file("t.bin");
    write_torch_bin(path, w.named, zip64_from);
    const TorchBinFile bin = TorchBinFile::open(path);
    ASSERT_EQ(bin.names().size(), w.named.size());
    for (const auto& [name, t] : w.named) {
      EXPECT_TRUE(test::same_bytes(bin.get(name), t)) << name;
      EXPECT_TRUE(bin.in_place(name)) << name;  // stored, aligned: used where it lies
    }
  }
}

TEST(TorchBinWriter, PyTorchLoadsItBitExactly) {
  LL_REQUIRE_TORCH();
  test::TempDir dir;
  const WrittenTensors w = sample_tensors();
  write_safetensors(dir.file("expected.safetensors"), w.named);
  write_torch_bin(dir.file("trainable_params.bin"), w.named);
  write_torch_bin(dir.file("zip64.bin"), w.named, /*zip64_from=*/0);  // every ZIP64 record
  EXPECT_TRUE(test::run_oracle("torch_load_oracle.py", {dir.file("expected.safetensors"),
                                                        dir.file("trainable_params.bin"), dir.file("zip64.bin")}));
}

}  // namespace
}  // namespace ll
