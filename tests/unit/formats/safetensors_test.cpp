#include "formats/safetensors.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "formats/json_file.h"
#include "formats/safetensors_writer.h"
#include "support/test_support.h"
#include "unit/formats/formats_test_util.h"

namespace ll {
namespace {

using test::expect_input_error;
using test::safetensors_bytes;

TEST(Safetensors, ReadsTheRealModel) {
  LL_REQUIRE_SHARED_DATA();
  const SafetensorsFile f(test::shared_path("stories260K-hf/model.safetensors"));
  EXPECT_EQ(f.entries().size(), 48u);  // embed, lm_head, norm, 5 layers x 9
  EXPECT_EQ(f.metadata().at("format"), "pt");
  const Tensor q = f.tensor("model.layers.0.self_attn.q_proj.weight");
  EXPECT_EQ(q.dtype, DType::F32);
  EXPECT_EQ(q.shape_str(), "[64, 64]");
  EXPECT_EQ(f.tensor("model.layers.4.self_attn.k_proj.weight").shape_str(), "[32, 64]");
  EXPECT_EQ(f.tensor("model.layers.2.mlp.down_proj.weight").shape_str(), "[64, 172]");
  double sum_sq = 0;
  for (int64_t i = 0; i < q.numel(); ++i) {
    ASSERT_TRUE(std::isfinite(q.as<float>()[i]));
    sum_sq += double(q.as<float>()[i]) * q.as<float>()[i];
  }
  EXPECT_GT(sum_sq, 0.0);
  // Entries come in data-section order and tile it.
  size_t expected_offset = 0;
  const uint8_t* base = f.entries().front().data;
  for (const auto& e : f.entries()) {
    EXPECT_EQ(size_t(e.data - base), expected_offset) << e.name;
    expected_offset += e.nbytes;
  }
}

TEST(Safetensors, WriteThenReadIsIdentical) {
  test::TempDir dir;
  const OwnedTensor a = test::random_tensor(DType::F32, {3, 5}, 1);
  const OwnedTensor b = test::random_tensor(DType::F16, {7}, 2);
  const OwnedTensor c = test::random_tensor(DType::BF16, {2, 3, 5}, 3);
  const OwnedTensor d = test::random_tensor(DType::I32, {11, 1}, 4);
  const OwnedTensor e = test::random_tensor(DType::F32, {1, 3, 1, 3}, 5);
  const OwnedTensor empty(DType::F32, {0, 4});
  const NamedTensors tensors = {{"z.first", a.view()}, {"b", b.view()},         {"a.third", c.view()},
                                {"ints", d.view()},    {"empty", empty.view()}, {"four.d", e.view()}};
  const std::string path = dir.file("t.safetensors");
  write_safetensors(path, tensors, {{"format", "pt"}, {"note", "odd shapes"}});

  const std::string bytes = test::read_file(path);
  uint64_t header_len;
  std::memcpy(&header_len, bytes.data(), 8);
  EXPECT_EQ(header_len % 8, 0u);
  EXPECT_EQ(bytes[8], '{');

  const SafetensorsFile f(path);
  ASSERT_EQ(f.entries().size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(f.entries()[i].name, tensors[i].first);  // written in the given order
    EXPECT_TRUE(test::same_bytes(f.tensor(tensors[i].first), tensors[i].second)) << tensors[i].first;
  }
  EXPECT_EQ(f.find("ints")->file_dtype, "I32");
  EXPECT_EQ(f.metadata().size(), 2u);
  EXPECT_EQ(f.metadata().at("note"), "odd shapes");
  EXPECT_EQ(f.tensor("empty").numel(), 0);
  EXPECT_FALSE(f.has("__metadata__"));
  // Atomic: no temporary left behind.
  size_t files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1u);
}

TEST(Safetensors, ListsUnreadableDtypesButRefusesToReadThem) {
  test::TempDir dir;
  const std::string path = dir.file("mixed.safetensors");
  // F64 [2] = 16 bytes, F4 [2, 3] = 3 bytes, U8 [5] = 5 bytes, F32 scalar = 4 bytes.
  test::write_file(path, safetensors_bytes(R"({"d":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},)"
                                           R"("q":{"dtype":"F4","shape":[2,3],"data_offsets":[16,19]},)"
                                           R"("u":{"dtype":"U8","shape":[5],"data_offsets":[19,24]},)"
                                           R"("s":{"dtype":"F32","shape":[],"data_offsets":[24,28]}}  )",
                                           std::string(28, '\x3f')));
  const SafetensorsFile f(path);
  ASSERT_EQ(f.entries().size(), 4u);
  EXPECT_FALSE(f.find("d")->supported);
  EXPECT_EQ(f.find("q")->file_dtype, "F4");
  EXPECT_EQ(f.find("q")->nbytes, 3u);
  expect_input_error([&] { f.tensor("d"); }, {path, "'d'", "F64"});
  expect_input_error([&] { f.tensor("u"); }, {path, "'u'", "U8"});
  const Tensor s = f.tensor("s");  // a scalar reads as [1]
  EXPECT_EQ(s.shape_str(), "[1]");
  expect_input_error([&] { f.tensor("nope"); }, {"missing tensor 'nope'", path});
}

// Writes `header` + `data` to a file and expects opening it to fail with all of `parts` (and the
// path) in the message.
void expect_bad_file(const std::string& header, const std::string& data,
                     const std::vector<std::string>& parts) {
  test::TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  test::write_file(path, safetensors_bytes(header, data));
  std::vector<std::string> all = parts;
  all.push_back(path);
  expect_input_error([&] { SafetensorsFile f(path); }, all);
}

TEST(SafetensorsBadInput, TruncatedFile) {
  test::TempDir dir;
  const std::string path = dir.file("short.safetensors");
  test::write_file(path, std::string("\x10\x00\x00", 3));
  expect_input_error([&] { SafetensorsFile f(path); }, {path, "header length", "3 bytes"});
  // A valid file cut short: the header promises data that is not there.
  const OwnedTensor a = test::random_tensor(DType::F32, {4, 3}, 7);
  const std::string full = dir.file("full.safetensors");
  write_safetensors(full, {{"w", a.view()}});
  std::string bytes = test::read_file(full);
  bytes.resize(bytes.size() - 5);
  test::write_file(path, bytes);
  expect_input_error([&] { SafetensorsFile f(path); }, {path, "tensor 'w'", "data_offsets"});
}

TEST(SafetensorsBadInput, HeaderLengthPastEndOfFile) {
  test::TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  std::string bytes = safetensors_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", "abcd");
  test::patch<uint64_t>(bytes, 0, 1000);
  test::write_file(path, bytes);
  expect_input_error([&] { SafetensorsFile f(path); }, {path, "header length", "1000"});
  test::patch<uint64_t>(bytes, 0, ~uint64_t(0));
  test::write_file(path, bytes);
  expect_input_error([&] { SafetensorsFile f(path); }, {path, "header length", "18446744073709551615"});
}

TEST(SafetensorsBadInput, HeaderLengthAboveTheLimit) {
  test::TempDir dir;
  const std::string path = dir.file("huge.safetensors");
  std::string bytes = safetensors_bytes("{}", "");
  test::patch<uint64_t>(bytes, 0, kSafetensorsMaxHeaderBytes + 8);
  test::write_file(path, bytes);
  std::filesystem::resize_file(path, kSafetensorsMaxHeaderBytes + 64);  // sparse: costs no disk
  expect_input_error([&] { SafetensorsFile f(path); }, {path, "header length", "at most 100000000"});
}

TEST(SafetensorsBadInput, OffsetsOutOfRange) {
  expect_bad_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", std::string(8, 'x'),
                  {"tensor 'w'", "data_offsets", "[4,12]", "8 (the data section size)"});
  expect_bad_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", std::string(8, 'x'),
                  {"tensor 'w'", "data_offsets"});
  expect_bad_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", std::string(8, 'x'),
                  {"tensor 'w'", "data_offsets", "[begin, end]"});
  expect_bad_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[-1,7]}})", std::string(8, 'x'),
                  {"tensor 'w'", "data_offsets", "non-negative"});
}

TEST(SafetensorsBadInput, OverlappingOffsets) {
  expect_bad_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},)"
                  R"("b":{"dtype":"F32","shape":[3],"data_offsets":[8,20]}})",
                  std::string(20, 'x'), {"tensor 'b'", "overlaps tensor 'a'", "[8, 20)"});
}

TEST(SafetensorsBadInput, GapsAndTrailingBytesAreRejected) {
  // The spec (and its reference reader) requires the tensors to cover the data section exactly.
  expect_bad_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                  R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                  std::string(12, 'x'), {"gap", "[4, 8)", "tensor 'b'"});
  expect_bad_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", std::string(8, 'x'),
                  {"gap", "[0, 4)", "tensor 'a'"});
  expect_bad_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", std::string(9, 'x'),
                  {"5 bytes after the last tensor"});
}

TEST(SafetensorsBadInput, UnknownDtype) {
  expect_bad_file(R"({"w":{"dtype":"Q4_0","shape":[2],"data_offsets":[0,4]}})", std::string(4, 'x'),
                  {"tensor 'w'", "unknown dtype", "Q4_0"});
  expect_bad_file(R"({"w":{"dtype":7,"shape":[2],"data_offsets":[0,4]}})", std::string(4, 'x'),
                  {"tensor 'w'", "dtype"});
}

TEST(SafetensorsBadInput, ByteCountDoesNotMatchShape) {
  expect_bad_file(
      R"({"w":{"dtype":"BF16","shape":[3,3],"data_offsets":[0,16]}})", std::string(16, 'x'),
      {"tensor 'w'", "data_offsets", "18 bytes for dtype BF16 and shape [3, 3]", "found 16 bytes"});
  expect_bad_file(R"({"w":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}})", std::string(2, 'x'),
                  {"tensor 'w'", "whole bytes"});
  expect_bad_file(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})",
                  std::string(4, 'x'), {"tensor 'w'", "too large"});
  expect_bad_file(R"({"w":{"dtype":"F32","shape":[2.5],"data_offsets":[0,4]}})", std::string(4, 'x'),
                  {"tensor 'w'", "shape", "non-negative integer"});
}

TEST(SafetensorsBadInput, MalformedHeader) {
  expect_bad_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},})", std::string(4, 'x'),
                  {"header", "malformed JSON", "line 1"});
  expect_bad_file("[1, 2]", "", {"header", "a JSON object starting with '{'", "byte 0x5b"});
  expect_bad_file(R"({"w":[1,2]})", "", {"tensor 'w'", "an object"});
  expect_bad_file(R"({"w":{"dtype":"F32","shape":[1]}})", std::string(4, 'x'),
                  {"tensor 'w'", "data_offsets"});
  expect_bad_file(R"({"__metadata__":{"format":1}})", "", {"__metadata__.format", "a string"});
}

TEST(SafetensorsBadInput, EmptyTensorsTakeNoBytes) {
  // Not an error: a zero-sized tensor sits between two others without a gap.
  test::TempDir dir;
  const std::string path = dir.file("ok.safetensors");
  test::write_file(path, safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                           R"("e":{"dtype":"F16","shape":[0,3],"data_offsets":[4,4]},)"
                                           R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                           std::string(8, 'x')));
  const SafetensorsFile f(path);
  EXPECT_EQ(f.entries().size(), 3u);
  EXPECT_EQ(f.tensor("e").numel(), 0);
}

}  // namespace
}  // namespace ll
