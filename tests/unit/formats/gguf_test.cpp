#include "formats/gguf.h"

#include <gtest/gtest.h>

#include <cmath>

#include "formats/gguf_writer.h"
#include "support/test_support.h"
#include "unit/formats/formats_test_util.h"

namespace ll {
namespace {

using test::append;
using test::append_string;
using test::expect_input_error;

// "GGUF", version 3, the counts; the caller appends metadata and tensor infos.
std::string gguf_header(uint64_t tensors, uint64_t kvs, uint32_t version = 3) {
  std::string b = "GGUF";
  append<uint32_t>(b, version);
  append<uint64_t>(b, tensors);
  append<uint64_t>(b, kvs);
  return b;
}

void append_kv_header(std::string& b, const std::string& key, GgufType type) {
  append_string(b, key);
  append<uint32_t>(b, static_cast<uint32_t>(type));
}

TEST(Gguf, ReadsTheRealModel) {
  LL_REQUIRE_SHARED_DATA();
  const GgufFile g(test::shared_path("stories260K.gguf"));
  EXPECT_EQ(g.version(), 3u);
  EXPECT_EQ(g.alignment(), 32u);
  EXPECT_EQ(g.keys().size(), 19u);
  EXPECT_EQ(g.keys().front(), "tokenizer.ggml.tokens");
  EXPECT_EQ(g.get_string("general.architecture"), "llama");
  EXPECT_EQ(g.get_u32("llama.context_length"), 2048u);
  EXPECT_EQ(g.get_u32("llama.attention.head_count_kv"), 4u);
  EXPECT_FLOAT_EQ(g.get_f32("llama.attention.layer_norm_rms_epsilon"), 1e-5f);
  EXPECT_EQ(g.get_u32("tokenizer.ggml.seperator_token_id"), 4294967295u);
  const auto tokens = g.get_string_array("tokenizer.ggml.tokens");
  ASSERT_EQ(tokens.size(), 512u);
  EXPECT_EQ(tokens[1], "<s>");
  EXPECT_EQ(tokens[3], "<0x00>");
  EXPECT_EQ(g.get_f32_array("tokenizer.ggml.scores").size(), 512u);
  const auto types = g.get_i32_array("tokenizer.ggml.token_type");
  EXPECT_EQ(types[0], 2);
  EXPECT_EQ(types[3], 6);
  ASSERT_EQ(g.tensor_entries().size(), 48u);
  EXPECT_EQ(g.tensor("token_embd.weight").shape_str(), "[512, 64]");  // ne = [64, 512]
  EXPECT_EQ(g.tensor("blk.0.attn_k.weight").shape_str(), "[32, 64]");
  EXPECT_EQ(g.tensor("blk.3.ffn_down.weight").shape_str(), "[64, 172]");
  const uint8_t* first = g.tensor_entries().front().data;
  for (const auto& t : g.tensor_entries()) {
    EXPECT_EQ((t.data - first) % 32, 0) << t.name;
    EXPECT_TRUE(t.supported);
  }
}

// A file with every metadata value type and f32/f16/bf16 tensors of odd shapes.
struct WrittenFile {
  test::TempDir dir;
  std::string path = dir.file("all.gguf");
  OwnedTensor a = test::random_tensor(DType::F32, {3, 5}, 21);
  OwnedTensor b = test::random_tensor(DType::F16, {7}, 22);
  OwnedTensor c = test::random_tensor(DType::BF16, {2, 3, 5}, 23);
  OwnedTensor d = test::random_tensor(DType::F32, {2, 1, 3, 2}, 24);
  OwnedTensor q = test::random_tensor(DType::F32, {2, 64}, 25);  // ne[0] = 64: a whole number of Q4_0 blocks
  WrittenFile() {
    GgufWriter w;
    w.add_u8("k.u8", 200);
    w.add_i8("k.i8", -100);
    w.add_u16("k.u16", 60000);
    w.add_i16("k.i16", -30000);
    w.add_u32("k.u32", 4000000000u);
    w.add_i32("k.i32", -2000000000);
    w.add_u64("k.u64", (uint64_t(1) << 40) + 3);
    w.add_i64("k.i64", -(int64_t(1) << 40));
    w.add_f32("k.f32", 1.5f);
    w.add_f64("k.f64", M_PI);
    w.add_bool("k.bool", true);
    w.add_string("k.str", "h\xc3\xa9llo");
    w.add_string_array("k.strs", {"a", "", "a longer piece"});
    w.add_f32_array("k.f32s", {0.25f, -3.0f, 1e-7f});
    w.add_i32_array("k.i32s", {7, -8, 2147483647});
    const uint16_t u16s[] = {65535, 0, 12};
    w.add_numeric_array("k.u16s", GgufType::U16, u16s, 3);
    w.add_tensor("t.a", a.view());
    w.add_tensor("t.b", b.view());
    w.add_tensor("t.c", c.view());
    w.add_tensor("t.d", d.view());
    w.add_tensor("t.quant", q.view());
    w.write(path);
  }
  std::string bytes() const { return test::read_file(path); }
  // Byte position of the tensor info of `name` (its length prefix).
  size_t info_pos(const std::string& name) const {
    std::string needle;
    append_string(needle, name);
    const size_t pos = bytes().find(needle);
    EXPECT_NE(pos, std::string::npos);
    return pos;
  }
  std::string write_variant(const std::string& variant_bytes) const {
    const std::string p = dir.file("variant.gguf");
    test::write_file(p, variant_bytes);
    return p;
  }
};

TEST(Gguf, WriteThenReadIsIdentical) {
  const WrittenFile f;
  const GgufFile g(f.path);
  EXPECT_EQ(g.version(), 3u);
  EXPECT_EQ(g.keys().size(), 16u);
  EXPECT_EQ(g.keys()[4], "k.u32");
  EXPECT_EQ(g.find("k.u8")->type, GgufType::U8);
  EXPECT_EQ(g.get_u32("k.u8"), 200u);
  EXPECT_EQ(g.get_i64("k.i8"), -100);
  EXPECT_EQ(g.get_u32("k.u16"), 60000u);
  EXPECT_EQ(g.get_i64("k.i16"), -30000);
  EXPECT_EQ(g.get_u32("k.u32"), 4000000000u);
  EXPECT_EQ(g.get_i64("k.i32"), -2000000000);
  EXPECT_EQ(g.get_i64("k.u64"), (int64_t(1) << 40) + 3);
  EXPECT_EQ(g.get_i64("k.i64"), -(int64_t(1) << 40));
  EXPECT_EQ(g.get_f32("k.f32"), 1.5f);
  EXPECT_EQ(g.get_f32("k.f64"), float(M_PI));
  EXPECT_TRUE(g.get_bool("k.bool"));
  EXPECT_EQ(g.get_string("k.str"), "h\xc3\xa9llo");
  EXPECT_EQ(g.get_string_array("k.strs"), (std::vector<std::string>{"a", "", "a longer piece"}));
  EXPECT_EQ(g.get_f32_array("k.f32s"), (std::vector<float>{0.25f, -3.0f, 1e-7f}));
  EXPECT_EQ(g.get_i32_array("k.i32s"), (std::vector<int32_t>{7, -8, 2147483647}));
  EXPECT_EQ(g.array_length("k.strs"), 3u);
  EXPECT_EQ(g.get_i32_array("k.u16s"), (std::vector<int32_t>{65535, 0, 12}));
  EXPECT_EQ(g.find("k.u16s")->elem_type, GgufType::U16);

  EXPECT_EQ(g.tensor_names(), (std::vector<std::string>{"t.a", "t.b", "t.c", "t.d", "t.quant"}));
  EXPECT_TRUE(test::same_bytes(g.tensor("t.a"), f.a.view()));
  EXPECT_TRUE(test::same_bytes(g.tensor("t.b"), f.b.view()));
  EXPECT_TRUE(test::same_bytes(g.tensor("t.c"), f.c.view()));
  EXPECT_TRUE(test::same_bytes(g.tensor("t.d"), f.d.view()));
  EXPECT_EQ(g.find_tensor("t.c")->file_dtype, "BF16");
  EXPECT_EQ(g.find_tensor("t.b")->file_dtype, "F16");

  // The file stores ggml's ne[] (innermost first): [5, 3] for the [3, 5] tensor.
  const std::string bytes = f.bytes();
  const size_t pos = f.info_pos("t.a") + 8 + 3;
  uint32_t n_dims;
  uint64_t ne0, ne1;
  std::memcpy(&n_dims, &bytes[pos], 4);
  std::memcpy(&ne0, &bytes[pos + 4], 8);
  std::memcpy(&ne1, &bytes[pos + 12], 8);
  EXPECT_EQ(n_dims, 2u);
  EXPECT_EQ(ne0, 5u);
  EXPECT_EQ(ne1, 3u);
  EXPECT_EQ(bytes.size() % 32, 0u);
}

TEST(Gguf, ReadsVersion2) {
  const WrittenFile f;
  std::string bytes = f.bytes();
  test::patch<uint32_t>(bytes, 4, 2);
  const GgufFile g(f.write_variant(bytes));
  EXPECT_EQ(g.version(), 2u);
  EXPECT_TRUE(test::same_bytes(g.tensor("t.c"), f.c.view()));
}

TEST(Gguf, ReadsNestedArrays) {
  test::TempDir dir;
  std::string b = gguf_header(0, 2);
  append_kv_header(b, "nested", GgufType::ARRAY);
  append<uint32_t>(b, static_cast<uint32_t>(GgufType::ARRAY));
  append<uint64_t>(b, 2);
  append<uint32_t>(b, static_cast<uint32_t>(GgufType::U16));  // [1, 2, 3]
  append<uint64_t>(b, 3);
  for (uint16_t v : {1, 2, 3}) append<uint16_t>(b, v);
  append<uint32_t>(b, static_cast<uint32_t>(GgufType::STRING));  // ["x", "yz"]
  append<uint64_t>(b, 2);
  append_string(b, "x");
  append_string(b, "yz");
  append_kv_header(b, "empty", GgufType::ARRAY);
  append<uint32_t>(b, static_cast<uint32_t>(GgufType::I32));
  append<uint64_t>(b, 0);
  test::write_file(dir.file("n.gguf"), b);

  const GgufFile g(dir.file("n.gguf"));
  const GgufValue* v = g.find("nested");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->elem_type, GgufType::ARRAY);
  ASSERT_EQ(v->arrays.size(), 2u);
  EXPECT_EQ(v->arrays[0].elem_type, GgufType::U16);
  EXPECT_EQ(v->arrays[0].count, 3u);
  uint16_t third;
  std::memcpy(&third, v->arrays[0].elems + 4, 2);
  EXPECT_EQ(third, 3);
  EXPECT_EQ(v->arrays[1].strings, (std::vector<std::string_view>{"x", "yz"}));
  EXPECT_TRUE(g.get_i32_array("empty").empty());
  EXPECT_TRUE(g.tensor_entries().empty());
  expect_input_error([&] { g.get_string_array("nested"); }, {dir.file("n.gguf"), "metadata key 'nested'",
                                                             "an array of strings", "an array of array"});
}

TEST(Gguf, TypedGettersNameTheKey) {
  const WrittenFile f;
  const GgufFile g(f.path);
  expect_input_error([&] { g.get_u32("k.str"); }, {f.path, "metadata key 'k.str'", "u32", "found string"});
  expect_input_error([&] { g.get_u32("k.i32"); }, {"metadata key 'k.i32'", "u32", "i32 -2000000000"});
  expect_input_error([&] { g.get_u32("k.u64"); }, {"metadata key 'k.u64'", "u32", "1099511627779"});
  expect_input_error([&] { g.get_f32("k.bool"); }, {"metadata key 'k.bool'", "f32", "found bool"});
  expect_input_error([&] { g.get_bool("k.u8"); }, {"metadata key 'k.u8'", "bool", "found u8"});
  expect_input_error([&] { g.get_string("k.strs"); }, {"metadata key 'k.strs'", "string", "found array"});
  expect_input_error([&] { g.get_i32_array("k.f32s"); }, {"metadata key 'k.f32s'", "integers"});
  expect_input_error([&] { g.get_f32_array("k.str"); }, {"metadata key 'k.str'", "array"});
  expect_input_error([&] { g.get_string("nope"); }, {f.path, "missing metadata key 'nope'"});
  EXPECT_EQ(g.get_u32("nope", 7), 7u);
  EXPECT_EQ(g.get_string("nope", "dflt"), "dflt");
  EXPECT_EQ(g.get_f32("nope", 0.5f), 0.5f);
  EXPECT_FALSE(g.get_bool("nope", false));
  EXPECT_EQ(g.get_u32("k.u16", 7), 60000u);  // present: the default is not used
  expect_input_error([&] { g.get_u32("k.str", 7); }, {"metadata key 'k.str'"});
}

TEST(GgufBadInput, BadMagic) {
  const WrittenFile f;
  std::string bytes = f.bytes();
  bytes.replace(0, 4, "GGML");
  const std::string p = f.write_variant(bytes);
  expect_input_error([&] { GgufFile g(p); }, {p, "magic", "\"GGUF\"", "\"GGML\""});
  bytes.replace(0, 4, std::string("\x00\x01\xfe\xff", 4));
  f.write_variant(bytes);
  expect_input_error([&] { GgufFile g(p); }, {p, "magic", "0x0001feff"});
  f.write_variant("GG");
  expect_input_error([&] { GgufFile g(p); }, {p, "magic", "2 bytes"});
}

TEST(GgufBadInput, UnsupportedVersions) {
  const WrittenFile f;
  for (uint32_t version : {1u, 4u}) {
    std::string bytes = f.bytes();
    test::patch<uint32_t>(bytes, 4, version);
    const std::string p = f.write_variant(bytes);
    expect_input_error([&] { GgufFile g(p); }, {p, "version", "2 or 3", "found " + std::to_string(version)});
  }
}

TEST(GgufBadInput, TruncatedTensorTable) {
  const WrittenFile f;
  const std::string bytes = f.bytes();
  const size_t pos = f.info_pos("t.quant");                           // the last tensor info
  std::string p = f.write_variant(bytes.substr(0, pos + 8 + 7 + 2));  // inside n_dims
  expect_input_error([&] { GgufFile g(p); }, {p, "tensor 't.quant'", "n_dims", "needs 4 bytes"});
  p = f.write_variant(bytes.substr(0, pos + 5));  // inside the name's length
  expect_input_error([&] { GgufFile g(p); }, {p, "tensor info #4", "name", "needs 8 bytes"});
  p = f.write_variant(bytes.substr(0, pos + 8 + 7 + 4 + 8 * 2 + 4 + 3));  // inside the offset
  expect_input_error([&] { GgufFile g(p); }, {p, "tensor 't.quant'", "offset"});
  // Cut early, the remaining bytes cannot hold the promised tensor infos at all.
  p = f.write_variant(bytes.substr(0, f.info_pos("t.b")));
  expect_input_error([&] { GgufFile g(p); }, {p, "tensor table", "tensor count 5 is impossible"});
}

TEST(GgufBadInput, StringLengthPastEndOfFile) {
  const WrittenFile f;
  std::string bytes = f.bytes();
  test::patch<uint64_t>(bytes, 24, 1000000000000ull);  // the first key's length
  std::string p = f.write_variant(bytes);
  expect_input_error([&] { GgufFile g(p); },
                     {p, "metadata entry #0", "key", "string length 1000000000000 exceeds"});
  bytes = f.bytes();
  std::string needle;
  append_string(needle, "k.str");
  const size_t value_len_pos = bytes.find(needle) + needle.size() + 4;
  test::patch<uint64_t>(bytes, value_len_pos, uint64_t(1) << 62);
  p = f.write_variant(bytes);
  expect_input_error([&] { GgufFile g(p); },
                     {p, "metadata key 'k.str'", "string length 4611686018427387904"});
}

TEST(GgufBadInput, TensorDataPastEndOfFile) {
  const WrittenFile f;
  const std::string bytes = f.bytes();
  const std::string p = f.write_variant(bytes.substr(0, bytes.size() - 40));
  expect_input_error([&] { GgufFile g(p); }, {p, "tensor 't.quant'", "extends past the end of the file"});
  std::string moved = bytes;
  const size_t offset_pos = f.info_pos("t.a") + 8 + 3 + 4 + 16 + 4;
  test::patch<uint64_t>(moved, offset_pos, uint64_t(1) << 62);  // aligned, far past the end
  f.write_variant(moved);
  expect_input_error([&] { GgufFile g(p); }, {p, "tensor 't.a'", "extends past the end of the file"});
}

TEST(GgufBadInput, AbsurdCountsAreRefusedBeforeAllocating) {
  const WrittenFile f;
  std::string bytes = f.bytes();
  test::patch<uint64_t>(bytes, 8, uint64_t(1) << 60);
  std::string p = f.write_variant(bytes);
  expect_input_error([&] { GgufFile g(p); }, {p, "tensor count 1152921504606846976 is impossible"});
  bytes = f.bytes();
  test::patch<uint64_t>(bytes, 16, uint64_t(1) << 60);
  p = f.write_variant(bytes);
  expect_input_error([&] { GgufFile g(p); }, {p, "metadata count 1152921504606846976 is impossible"});
  bytes = f.bytes();
  std::string needle;
  append_string(needle, "k.strs");
  test::patch<uint64_t>(bytes, bytes.find(needle) + needle.size() + 4 + 4, uint64_t(1) << 60);
  p = f.write_variant(bytes);
  expect_input_error([&] { GgufFile g(p); },
                     {p, "metadata key 'k.strs'", "array length 1152921504606846976"});
  bytes = f.bytes();
  const size_t shape_pos = f.info_pos("t.a") + 8 + 3 + 4;
  test::patch<uint64_t>(bytes, shape_pos, uint64_t(1) << 40);
  test::patch<uint64_t>(bytes, shape_pos + 8, uint64_t(1) << 40);
  p = f.write_variant(bytes);
  expect_input_error([&] { GgufFile g(p); }, {p, "tensor 't.a'", "larger than the file"});
  // A zero innermost dimension makes the byte count 0; the element count still must not overflow
  // (a fuzzer's finding: fuzz/regressions/gguf).
  bytes = f.bytes();
  const size_t c_shape_pos = f.info_pos("t.c") + 8 + 3 + 4;
  test::patch<uint64_t>(bytes, c_shape_pos, 0);
  test::patch<uint64_t>(bytes, c_shape_pos + 8, uint64_t(1) << 40);
  test::patch<uint64_t>(bytes, c_shape_pos + 16, uint64_t(1) << 40);
  p = f.write_variant(bytes);
  expect_input_error([&] { GgufFile g(p); },
                     {p, "tensor 't.c'", "[1099511627776, 1099511627776, 0] has too many elements"});
}

TEST(GgufBadInput, QuantizedTensorsAreListedButNotRead) {
  const WrittenFile f;
  std::string bytes = f.bytes();
  const size_t type_pos = f.info_pos("t.quant") + 8 + 7 + 4 + 16;
  test::patch<uint32_t>(bytes, type_pos, 2);  // Q4_0
  const std::string p = f.write_variant(bytes);
  const GgufFile g(p);
  const TensorEntry* t = g.find_tensor("t.quant");
  ASSERT_NE(t, nullptr);
  EXPECT_FALSE(t->supported);
  EXPECT_EQ(t->file_dtype, "Q4_0");
  EXPECT_EQ(t->nbytes, 2u * 2 * 18);  // 2 rows of 64 = 2 blocks of 18 bytes each
  expect_input_error([&] { g.tensor("t.quant"); },
                     {p, "tensor 't.quant' has type Q4_0; only f32/f16/bf16 GGUF files are supported"});
  expect_input_error([&] { g.tensor("t.zzz"); }, {"missing tensor 't.zzz' in " + p});
}

TEST(GgufBadInput, MalformedTensorInfos) {
  const WrittenFile f;
  const size_t pos = f.info_pos("t.a") + 8 + 3;  // n_dims
  std::string bytes = f.bytes();
  test::patch<uint32_t>(bytes, pos + 4 + 16, 2);  // Q4_0 with ne[0] = 5
  std::string p = f.write_variant(bytes);
  expect_input_error([&] { GgufFile g(p); }, {p, "tensor 't.a'", "not a multiple of the Q4_0 block size 32"});
  bytes = f.bytes();
  test::patch<uint32_t>(bytes, pos + 4 + 16, 4);  // an id ggml removed
  p = f.write_variant(bytes);
  expect_input_error([&] { GgufFile g(p); }, {p, "tensor 't.a'", "unknown ggml type 4"});
  bytes = f.bytes();
  test::patch<uint32_t>(bytes, pos, 5);
  p = f.write_variant(bytes);
  expect_input_error([&] { GgufFile g(p); }, {p, "tensor 't.a'", "n_dims", "found 5"});
  bytes = f.bytes();
  test::patch<uint64_t>(bytes, pos + 4 + 16 + 4, 4);  // offset not a multiple of 32
  p = f.write_variant(bytes);
  expect_input_error([&] { GgufFile g(p); },
                     {p, "tensor 't.a'", "offset 4 is not a multiple of the alignment 32"});
}

TEST(GgufBadInput, MalformedMetadata) {
  test::TempDir dir;
  const std::string p = dir.file("m.gguf");
  std::string b = gguf_header(0, 2);
  append_kv_header(b, "same", GgufType::U8);
  append<uint8_t>(b, 1);
  append_kv_header(b, "same", GgufType::U8);
  append<uint8_t>(b, 2);
  test::write_file(p, b);
  expect_input_error([&] { GgufFile g(p); }, {p, "metadata key 'same'", "duplicate key"});

  b = gguf_header(0, 1);
  append_kv_header(b, "general.alignment", GgufType::U32);
  append<uint32_t>(b, 24);
  test::write_file(p, b);
  expect_input_error([&] { GgufFile g(p); }, {p, "metadata key 'general.alignment'", "power of two", "24"});

  b = gguf_header(0, 1);
  append_kv_header(b, "general.alignment", GgufType::STRING);
  append_string(b, "32");
  test::write_file(p, b);
  expect_input_error([&] { GgufFile g(p); }, {p, "metadata key 'general.alignment'", "u32", "string"});

  b = gguf_header(0, 1);
  append_string(b, "weird");
  append<uint32_t>(b, 13);
  test::write_file(p, b);
  expect_input_error([&] { GgufFile g(p); }, {p, "metadata key 'weird'", "unknown value type 13"});

  b = gguf_header(0, 1);
  append_kv_header(b, "deep", GgufType::ARRAY);
  for (int depth = 0; depth < 12; ++depth) {
    append<uint32_t>(b, static_cast<uint32_t>(GgufType::ARRAY));
    append<uint64_t>(b, 1);
  }
  append<uint32_t>(b, static_cast<uint32_t>(GgufType::U8));
  append<uint64_t>(b, 0);
  test::write_file(p, b);
  expect_input_error([&] { GgufFile g(p); }, {p, "metadata key 'deep'", "nested deeper than 8"});
}

TEST(Gguf, HonoursACustomAlignment) {
  test::TempDir dir;
  const std::string p = dir.file("a.gguf");
  std::string b = gguf_header(1, 1);
  append_kv_header(b, "general.alignment", GgufType::U32);
  append<uint32_t>(b, 64);
  append_string(b, "w");
  append<uint32_t>(b, 1);
  append<uint64_t>(b, 3);
  append<uint32_t>(b, kGgmlF32);
  append<uint64_t>(b, 0);
  const size_t data_start = (b.size() + 63) / 64 * 64;
  b.resize(data_start, '\0');
  for (float v : {1.5f, -2.0f, 0.25f}) append<float>(b, v);
  test::write_file(p, b);
  const GgufFile g(p);
  EXPECT_EQ(g.alignment(), 64u);
  const Tensor w = g.tensor("w");
  EXPECT_EQ(w.as<float>()[0], 1.5f);
  EXPECT_EQ(w.as<float>()[2], 0.25f);
}

}  // namespace
}  // namespace ll
