// Hand-made torch.save archives (no PyTorch needed): the ZIP variants the reader must accept, and
// malicious or broken archives it must refuse with an InputError naming the file and the fault.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <random>

#include "formats/torch_bin.h"
#include "formats/zip_archive.h"
#include "support/test_support.h"
#include "unit/formats/formats_test_util.h"
#include "unit/formats/torch_bin_test_util.h"

namespace ll {
namespace {

using test::expect_input_error;
using test::FakeTensor;
using test::PickleBytes;
using test::ZipFile;
using test::ZipOptions;

// Twelve distinct non-zero floats: storage "0".
const std::vector<float> kValues = {1.5f, -2.25f, 3.0f, 0.5f, -7.0f, 11.0f, 0.125f, -0.75f, 9.5f, -4.0f, 6.25f, 2.0f};

FakeTensor matrix_3x4() { return {"w", "FloatStorage", "0", 12, 0, {3, 4}, {4, 1}}; }

std::vector<ZipFile> torch_files(const std::string& pickle) {
  return {{"archive/data.pkl", pickle}, {"archive/data/0", test::f32_bytes(kValues)}, {"archive/version", "3\n"}};
}

class HandMade : public ::testing::Test {
 protected:
  // Writes `bytes` as a file and returns its path.
  std::string write(const std::string& bytes, const std::string& name = "x.bin") {
    test::write_file(dir_.file(name), bytes);
    return dir_.file(name);
  }
  std::string write_archive(const std::vector<ZipFile>& files, const ZipOptions& options = {}) {
    return write(test::make_zip(files, options));
  }
  std::string write_state_dict(const std::vector<FakeTensor>& tensors) {
    return write_archive(torch_files(test::state_dict_pickle(tensors)));
  }

  test::TempDir dir_;
};

void expect_values(const Tensor& t, const std::vector<float>& want) {
  ASSERT_EQ(t.dtype, DType::F32);
  ASSERT_EQ(t.numel(), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(t.as<float>()[i], want[i]) << i;
}

TEST_F(HandMade, ZipLayoutsTorchAndOtherWritersProduce) {
  const std::string pickle = test::state_dict_pickle(
      {matrix_3x4(), {"col", "FloatStorage", "0", 12, 2, {3}, {4}}, {"tail", "FloatStorage", "0", 12, 9, {3}, {1}}});
  const std::vector<float> col = {kValues[2], kValues[6], kValues[10]};
  const std::vector<float> tail = {kValues[9], kValues[10], kValues[11]};
  ZipOptions zip64;
  zip64.zip64 = true;
  ZipOptions unaligned;
  unaligned.misalign = 2;  // as a writer without padding might leave them: off the 4-byte grid
  ZipOptions commented;
  commented.comment = "PK\x05\x06 a fake end record inside the comment";
  for (const ZipOptions& options : {ZipOptions{}, zip64, unaligned, commented}) {
    SCOPED_TRACE(std::to_string(options.misalign) + (options.zip64 ? " zip64" : "") + options.comment);
    const std::string path = write_archive(torch_files(pickle), options);
    const TorchBinFile bin = TorchBinFile::open(path);
    EXPECT_EQ(bin.names(), (std::vector<std::string>{"col", "tail", "w"}));
    expect_values(bin.get("w", {3, 4}), kValues);
    expect_values(bin.get("col", {3}), col);
    expect_values(bin.get("tail", {3}), tail);
    EXPECT_FALSE(bin.in_place("col"));
    EXPECT_EQ(bin.in_place("w"), options.misalign == 0);
    EXPECT_EQ(bin.in_place("tail"), options.misalign == 0);
  }
  // PyTorch >= 2.1 records the byte order.
  std::vector<ZipFile> files = torch_files(pickle);
  files.push_back({"archive/byteorder", "little"});
  EXPECT_EQ(TorchBinFile::open(write_archive(files)).names().size(), 3u);
}

TEST_F(HandMade, ProtocolFourPickleWithParametersAndDtypeObjects) {
  // What pickle protocol 4 emits: FRAME, MEMOIZE, SHORT_BINUNICODE, STACK_GLOBAL, NEWOBJ for the
  // OrderedDict; a Parameter around the tensor; torch.float32 as the storage type.
  PickleBytes p;
  p.proto(4).op(0x95).le<uint64_t>(0);
  p.short_unicode("collections").short_unicode("OrderedDict").op(0x93).op(0x94).op(')').op(0x81);
  p.op('}').op('b');
  p.mark().short_unicode("p").short_unicode("torch._utils").short_unicode("_rebuild_parameter").op(0x93);
  p.short_unicode("torch._utils").short_unicode("_rebuild_tensor_v2").op(0x93);
  p.mark();  // _rebuild_tensor_v2's arguments
  p.mark().short_unicode("storage").short_unicode("torch").short_unicode("float32").op(0x93);
  p.short_unicode("0").short_unicode("cuda:0").op('M').le<uint16_t>(12).op('t').op('Q');
  p.op('J').le<int32_t>(1).integer(2).integer(5).op(0x86).integer(1).integer(2).op(0x86).op(0x89);
  p.op('h').le<uint8_t>(0).op(')').op('R').op('N').op('t').op('R');    // 7 arguments: metadata None
  p.op(0x88).op('h').le<uint8_t>(0).op(')').op('R').op(0x87).op('R');  // _rebuild_parameter(t, True, {})
  p.op('u').stop();
  const TorchBinFile bin = TorchBinFile::open(write_archive(torch_files(p.bytes)));
  // size (2, 5), stride (1, 2) from offset 1: element [i][j] is storage[1 + i + 2j].
  const Tensor t = bin.get("p", {2, 5});
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 5; ++j) EXPECT_EQ(t.as<float>()[i * 5 + j], kValues[1 + i + 2 * j]) << i << "," << j;
}

TEST_F(HandMade, CodeIsRefusedWhereverItIsNamed) {
  const std::string marker = dir_.file("PWNED");
  PickleBytes evil;  // {'w': os.system('touch PWNED')}
  evil.proto(2).op('}').mark().unicode("w").global("os", "system").unicode("touch " + marker).op(0x85).op('R');
  evil.op('u').stop();
  const std::string path = write_archive(torch_files(evil.bytes));
  expect_input_error(
      [&] { TorchBinFile::open(path); },
      {path, "archive/data.pkl", "byte 10", "forbidden global 'os.system'", "only tensor data can be loaded"});
  EXPECT_FALSE(std::filesystem::exists(marker));

  // Globals torch.load itself would allow but that unpickle nested data or run code.
  for (const auto& [module, name] :
       std::vector<std::pair<std::string, std::string>>{{"torch.storage", "_load_from_bytes"},
                                                        {"torch._utils", "_rebuild_tensor"},
                                                        {"builtins", "getattr"},
                                                        {"torch", "load"},
                                                        {"collections", "defaultdict"},
                                                        {"__builtin__", "set"}}) {
    PickleBytes p;
    p.proto(2).global(module, name).stop();
    const std::string f = write_archive(torch_files(p.bytes));
    expect_input_error([&] { TorchBinFile::open(f); }, {f, "forbidden global '" + module + "." + name + "'"});
  }

  // An allowed global that is not a function.
  PickleBytes call_storage;
  call_storage.proto(2).global("torch", "FloatStorage").op(')').op('R').stop();
  const std::string f = write_archive(torch_files(call_storage.bytes));
  expect_input_error([&] { TorchBinFile::open(f); }, {f, "global 'torch.FloatStorage' cannot be called"});
}

TEST_F(HandMade, TensorsThatDoNotFitTheirStorage) {
  FakeTensor t = matrix_3x4();
  t.size = {3, 5};
  t.stride = {5, 1};
  std::string path = write_state_dict({t});
  expect_input_error([&] { TorchBinFile::open(path); },
                     {path, "tensor 'w'", "size [3, 5] with stride [5, 1] at storage offset 0 reaches element 14",
                      "storage '0' (entry 'archive/data/0'), which holds 12 elements"});
  t = matrix_3x4();
  t.offset = 1;
  path = write_state_dict({t});
  expect_input_error([&] { TorchBinFile::open(path); }, {"at storage offset 1 reaches element 12"});

  t = matrix_3x4();
  t.size = {1000000, 1000000, 1000000, 1000000};
  t.stride = {1, 1, 1, 1};
  path = write_state_dict({t});
  expect_input_error([&] { TorchBinFile::open(path); }, {path, "tensor 'w'", "is too large"});

  t = matrix_3x4();
  t.size = {20};
  t.stride = {0};  // an expanded view: 20 elements over one
  path = write_state_dict({t});
  expect_input_error([&] { TorchBinFile::open(path); },
                     {"has 20 elements but its storage '0' only 12", "(expand) are not supported"});

  t = matrix_3x4();
  t.stride = {4, -1};
  path = write_state_dict({t});
  expect_input_error([&] { TorchBinFile::open(path); },
                     {path, "_rebuild_tensor_v2: stride: expected a non-negative int, found an int -1"});

  t = matrix_3x4();
  t.stride = {4};
  path = write_state_dict({t});
  expect_input_error([&] { TorchBinFile::open(path); }, {"size has 2 dimensions but stride has 1"});

  // Zero elements need no storage at all.
  t = matrix_3x4();
  t.size = {0, 4};
  t.offset = 100;
  EXPECT_EQ(TorchBinFile::open(write_state_dict({t})).get("w").numel(), 0);
}

// `count` distinct transposed views of the whole storage, each a 48-byte copy, in ~15 pickle
// bytes apiece (the rebuild function and its arguments come from the memo).
std::string many_transposed_views(int count) {
  PickleBytes p;
  p.proto(2).op('}').mark();
  p.unicode("t0").global("torch._utils", "_rebuild_tensor_v2").binput(1).mark();
  p.mark().unicode("storage").global("torch", "FloatStorage").unicode("0").unicode("cpu").integer(12).op('t').op('Q');
  p.integer(0).ints_tuple({3, 4}).ints_tuple({1, 3}).op(0x89).op('}').op('t').binput(2).op('R');
  for (int i = 1; i < count; ++i) p.unicode("t" + std::to_string(i)).binget(1).binget(2).op('R');
  return p.op('u').stop().bytes;
}

TEST_F(HandMade, CopiesStayWithinTheFileSize) {
  const TorchBinFile few = TorchBinFile::open(write_archive(torch_files(many_transposed_views(10))));
  ASSERT_EQ(few.names().size(), 10u);
  EXPECT_NE(few.get("t3").data, few.get("t4").data);  // distinct tensors, distinct copies
  EXPECT_EQ(few.get("t3").as<float>()[1], kValues[3]);

  const std::string path = write_archive(torch_files(many_transposed_views(3000)));
  expect_input_error([&] { TorchBinFile::open(path); },
                     {path, "would take the copies past the file's own size", "overlapping views are not supported"});
}

TEST_F(HandMade, StoragesThatAreMissingOrMisdescribed) {
  FakeTensor t = matrix_3x4();
  t.key = "7";
  std::string path = write_state_dict({t});
  expect_input_error(
      [&] { TorchBinFile::open(path); },
      {path, "archive/data.pkl: byte", "storage '7' is missing: the archive has no entry 'archive/data/7'"});

  t = matrix_3x4();
  t.numel = 13;
  path = write_state_dict({t});
  expect_input_error([&] { TorchBinFile::open(path); },
                     {"entry 'archive/data/0' holds 48 bytes, but the persistent id says 13 elements of F32"});

  t = matrix_3x4();
  t.storage_class = "DoubleStorage";  // 48 bytes are 6 doubles, not 12
  path = write_state_dict({t});
  expect_input_error([&] { TorchBinFile::open(path); }, {"says 12 elements of F64"});

  // The same key under two element types.
  FakeTensor h = matrix_3x4();
  h.name = "h";
  h.storage_class = "HalfStorage";
  h.numel = 24;
  path = write_state_dict({matrix_3x4(), h});
  expect_input_error([&] { TorchBinFile::open(path); },
                     {"storage '0' is named again as 24 elements of F16, first as 12 of F32"});

  t = matrix_3x4();
  t.storage_class = "QInt8Storage";
  path = write_state_dict({t});
  expect_input_error([&] { TorchBinFile::open(path); }, {"forbidden global 'torch.QInt8Storage'"});

  // A compressed storage, or pickle, cannot be used in place.
  for (const char* entry : {"archive/data/0", "archive/data.pkl"}) {
    std::vector<ZipFile> files = torch_files(test::state_dict_pickle({matrix_3x4()}));
    for (ZipFile& f : files)
      if (f.name == entry) f.method = 8;
    path = write_archive(files);
    expect_input_error([&] { TorchBinFile::open(path); },
                       {path, std::string("entry '") + entry + "'", "compressed (method 8, deflate)"});
  }

  std::vector<ZipFile> files = torch_files(test::state_dict_pickle({matrix_3x4()}));
  files.push_back({"archive/byteorder", "big"});
  path = write_archive(files);
  expect_input_error([&] { TorchBinFile::open(path); },
                     {path, "archive/byteorder", "byte order: expected \"little\", found \"big\""});
}

TEST_F(HandMade, TopLevelMustBeADictOfNamedTensors) {
  PickleBytes list;
  list.proto(2).op(']').stop();
  std::string path = write_archive(torch_files(list.bytes));
  expect_input_error([&] { TorchBinFile::open(path); },
                     {path, "archive/data.pkl", "expected a dict of tensor names to tensors", "found a list of 0"});

  PickleBytes int_key;
  int_key.proto(2).op('}').integer(3).op('N').op('s').stop();
  path = write_archive(torch_files(int_key.bytes));
  expect_input_error([&] { TorchBinFile::open(path); }, {"expected tensor names as keys, found an int 3"});

  PickleBytes not_tensor;
  not_tensor.proto(2).op('}').unicode("lr").op('G').raw(std::string(8, '\0')).op('s').stop();
  path = write_archive(torch_files(not_tensor.bytes));
  expect_input_error([&] { TorchBinFile::open(path); }, {"'lr' is a float 0.000000, expected a tensor"});

  path = write_state_dict({matrix_3x4(), matrix_3x4()});
  expect_input_error([&] { TorchBinFile::open(path); }, {path, "tensor 'w' appears twice"});

  // An empty state dict is a valid (if useless) checkpoint.
  EXPECT_TRUE(TorchBinFile::open(write_state_dict({})).names().empty());
}

TEST_F(HandMade, NotATorchSaveArchive) {
  std::string path = write("");
  expect_input_error([&] { TorchBinFile::open(path); }, {path, "not a torch.save checkpoint"});
  path = write(std::string("{\"not\": \"a zip\"}"));
  expect_input_error([&] { TorchBinFile::open(path); }, {path, "not a torch.save checkpoint: expected a ZIP archive"});
  path = write(std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.\x80\x02", 17));
  expect_input_error([&] { TorchBinFile::open(path); }, {path, "legacy torch.save format"});
  path = write_archive({{"weights/model.txt", "hello"}});
  expect_input_error([&] { TorchBinFile::open(path); }, {path, "without a '<name>/data.pkl' entry"});
  path = write_archive({{"a/data.pkl", "\x80\x02}."}, {"b/data.pkl", "\x80\x02}."}});
  expect_input_error([&] { TorchBinFile::open(path); },
                     {path, "several data.pkl entries ('a/data.pkl', 'b/data.pkl')"});
  path = write_archive({{"m/data.pkl", "\x80\x02}."}, {"m/constants.pkl", "\x80\x02)."}});
  expect_input_error([&] { TorchBinFile::open(path); }, {path, "TorchScript archive"});
}

// Offsets in a hand-made archive without comment: EOCD at the end, central directory where it says.
uint32_t central_directory_offset(const std::string& zip) {
  uint32_t v;
  std::memcpy(&v, zip.data() + zip.size() - 22 + 16, 4);
  return v;
}

TEST_F(HandMade, BrokenZipStructures) {
  const std::string good = test::make_zip(torch_files(test::state_dict_pickle({matrix_3x4()})));
  const size_t eocd = good.size() - 22;
  const size_t cd = central_directory_offset(good);
  auto refused = [&](std::string bytes, const std::vector<std::string>& parts) {
    const std::string path = write(bytes);
    std::vector<std::string> with_path = parts;
    with_path.push_back(path);
    expect_input_error([&] { TorchBinFile::open(path); }, with_path);
  };
  {
    std::string b = good;
    test::patch<uint32_t>(b, cd, 0x12345678);
    refused(b, {"central directory entry 0", "bad signature"});
  }
  {
    std::string b = good;
    test::patch<uint32_t>(b, eocd + 16, static_cast<uint32_t>(eocd));  // directory runs into the EOCD
    refused(b, {"central directory: expected to lie within the first"});
  }
  {
    std::string b = good;
    test::patch<uint16_t>(b, eocd + 8, 60000);
    test::patch<uint16_t>(b, eocd + 10, 60000);
    refused(b, {"room for its 60000 entries"});
  }
  {
    std::string b = good;
    test::patch<uint16_t>(b, eocd + 6, 1);
    refused(b, {"multi-disk"});
  }
  {
    std::string b = good;
    test::patch<uint32_t>(b, cd + 42, 0);  // entry 0 points at entry 0's header: fine; entry 1 at it too
    const size_t second = cd + 46 + std::string("archive/data.pkl").size();
    test::patch<uint32_t>(b, second + 42, 0);
    refused(b, {"entry 'archive/data/0'", "the local header at byte 0 names another entry"});
  }
  {
    std::string b = good;
    test::patch<uint32_t>(b, cd + 42, 5);
    refused(b, {"entry 'archive/data.pkl'", "no local file header at byte 5"});
  }
  {
    std::string b = good;
    test::patch<uint32_t>(b, cd + 42, static_cast<uint32_t>(cd));
    refused(b, {"local header offset: expected a header before the central directory"});
  }
  {
    std::string b = good;
    test::patch<uint32_t>(b, cd + 20, 1u << 30);  // compressed size
    refused(b, {"stored entry has compressed size 1073741824"});
    test::patch<uint32_t>(b, cd + 24, 1u << 30);
    refused(b, {"overrun the central directory"});
  }
  {
    std::string b = good;
    test::patch<uint16_t>(b, cd + 8, 1);
    refused(b, {"entry 'archive/data.pkl'", "encrypted"});
  }
  {
    std::string b = good;
    test::patch<uint16_t>(b, cd + 30, 200);  // an extra field running past the directory
    refused(b, {"central directory entry 0", "truncated"});
  }
  refused(test::make_zip({{"archive/data.pkl", "."}, {"archive/data.pkl", "."}}),
          {"appears twice in the central directory"});

  // ZIP64: a locator pointing nowhere, and saturated fields without their extra field.
  ZipOptions zip64;
  zip64.zip64 = true;
  const std::string good64 = test::make_zip(torch_files(test::state_dict_pickle({matrix_3x4()})), zip64);
  const size_t locator = good64.size() - 22 - 20;
  {
    std::string b = good64;
    test::patch<uint64_t>(b, locator + 8, 3);
    refused(b, {"ZIP64 locator points at byte 3, which is not a ZIP64 end-of-central-directory record"});
    test::patch<uint64_t>(b, locator + 8, locator);
    refused(b, {"ZIP64 locator: expected a ZIP64 end-of-central-directory offset at most"});
  }
  {
    std::string b = good64;
    uint64_t cd64;
    std::memcpy(&cd64, b.data() + locator - 56 + 48, 8);
    test::patch<uint16_t>(b, cd64 + 46 + std::string("archive/data.pkl").size(), 0x0009);
    refused(b, {"entry 'archive/data.pkl'", "read 0xFFFFFFFF but there is no ZIP64 extra field"});
    test::patch<uint16_t>(b, cd64 + 46 + std::string("archive/data.pkl").size() + 2, 999);
    refused(b, {"extra field: a block of 999 bytes overruns it"});
  }
}

// 1 if the archive opened and every readable tensor could be viewed, 0 on InputError.
int outcome(const std::string& path) {
  try {
    const TorchBinFile bin = TorchBinFile::open(path);
    for (const std::string& name : bin.names()) bin.get(name);
    return 1;
  } catch (const InputError&) {
    return 0;
  }
}

TEST_F(HandMade, TruncationsAndRandomDamageAreRefusedOrRead) {
  const std::string pickle = test::state_dict_pickle({matrix_3x4(),
                                                      {"col", "FloatStorage", "0", 12, 2, {3}, {4}},
                                                      {"b", "BFloat16Storage", "1", 4, 0, {2, 2}, {1, 2}}});
  std::vector<ZipFile> files = torch_files(pickle);
  files.push_back({"archive/data/1", "\x01\x02\x03\x04\x05\x06\x07\x08"});
  ZipOptions zip64;
  zip64.zip64 = true;
  std::mt19937 rng(5);
  for (const ZipOptions& options : {ZipOptions{}, zip64}) {
    const std::string good = test::make_zip(files, options);
    const std::string path = write(good);
    ASSERT_EQ(outcome(path), 1);
    for (size_t n = 0; n < good.size(); ++n) {
      test::write_file(path, good.substr(0, n));
      EXPECT_EQ(outcome(path), 0) << "accepted a cut to " << n << " bytes";
    }
    int refused = 0;
    for (int trial = 0; trial < 400; ++trial) {
      std::string b = good;
      for (int i = 0, n = 1 + int(rng() % 3); i < n; ++i) {
        const size_t pos = rng() % b.size();
        b[pos] = rng() % 2 ? char(b[pos] + int(rng() % 5) - 2) : char(rng());
      }
      test::write_file(path, b);
      refused += 1 - outcome(path);
    }
    EXPECT_GT(refused, 100);
  }
}

}  // namespace
}  // namespace ll
