// Token files: u16/u32 round trips read in place, and every way a file can be wrong.
#include <gtest/gtest.h>

#include <random>

#include "formats/token_file.h"
#include "support/test_support.h"
#include "train_data_test_util.h"

namespace ll::test {
namespace {

TEST(TokenFile, RoundTripU16AndU32) {
  TempDir dir;
  std::mt19937 rng(5);
  for (TokenDtype dtype : {TokenDtype::U16, TokenDtype::U32}) {
    const int32_t vocab = dtype == TokenDtype::U16 ? 65536 : 100003;
    const std::vector<int32_t> ids = random_ids(rng, 1237, vocab);
    const std::string path = dir.file(std::string("t.") + token_dtype_name(dtype) + ".bin");
    write_token_file(path, ids, dtype);
    EXPECT_EQ(static_cast<int64_t>(read_file(path).size()), 1237 * token_dtype_bytes(dtype));

    const TokenFile file = open_token_file(path, dtype, vocab);
    ASSERT_EQ(file.size(), 1237);
    EXPECT_EQ(file.dtype(), dtype);
    for (int64_t i = 0; i < file.size(); ++i) ASSERT_EQ(file[i], ids[i]) << i;
    std::vector<int32_t> middle(101);
    file.read(400, 101, middle.data());
    EXPECT_EQ(middle, std::vector<int32_t>(ids.begin() + 400, ids.begin() + 501));
  }
}

TEST(TokenFile, LittleEndianOnDisk) {
  TempDir dir;
  write_file(dir.file("a.bin"), std::string("\x01\x02\x03\x00", 4));
  const TokenFile u16 = open_token_file(dir.file("a.bin"), TokenDtype::U16, 1000);
  ASSERT_EQ(u16.size(), 2);
  EXPECT_EQ(u16[0], 0x0201);
  EXPECT_EQ(u16[1], 3);
  const TokenFile u32 = open_token_file(dir.file("a.bin"), TokenDtype::U32, 1 << 20);
  ASSERT_EQ(u32.size(), 1);
  EXPECT_EQ(u32[0], 0x030201);
}

TEST(TokenFile, EmptyFileHasNoTokens) {
  TempDir dir;
  write_file(dir.file("empty.bin"), "");
  EXPECT_EQ(open_token_file(dir.file("empty.bin"), TokenDtype::U16, 10).size(), 0);
}

TEST(TokenFile, SizeNotAMultipleOfTheElementIsAnInputError) {
  TempDir dir;
  write_file(dir.file("odd.bin"), std::string(7, '\x01'));
  const std::string message = input_error_of([&] { open_token_file(dir.file("odd.bin"), TokenDtype::U16, 512); });
  EXPECT_NE(message.find(dir.file("odd.bin")), std::string::npos) << message;
  EXPECT_NE(message.find("7 bytes"), std::string::npos) << message;
  write_file(dir.file("six.bin"), std::string(6, '\x01'));
  EXPECT_NO_THROW(open_token_file(dir.file("six.bin"), TokenDtype::U16, 512));
  const std::string u32 = input_error_of([&] { open_token_file(dir.file("six.bin"), TokenDtype::U32, 512); });
  EXPECT_NE(u32.find("multiple of 4"), std::string::npos) << u32;
}

TEST(TokenFile, IdOutsideTheVocabularyNamesOffsetAndValue) {
  TempDir dir;
  std::mt19937 rng(11);
  for (TokenDtype dtype : {TokenDtype::U16, TokenDtype::U32}) {
    std::vector<int32_t> ids = random_ids(rng, 3001, 512);
    ids[1999] = 512;
    ids[2500] = 9000;
    const std::string path = dir.file("bad.bin");
    write_token_file(path, ids, dtype);
    const std::string message = input_error_of([&] { open_token_file(path, dtype, 512); });
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find("offset 1999"), std::string::npos) << message;
    EXPECT_NE(message.find("found 512"), std::string::npos) << message;
    EXPECT_NO_THROW(open_token_file(path, dtype, 9001));
  }
}

TEST(TokenFile, MissingFileIsAnInputError) {
  TempDir dir;
  const std::string message = input_error_of([&] { open_token_file(dir.file("none.bin"), TokenDtype::U16, 512); });
  EXPECT_NE(message.find("none.bin"), std::string::npos) << message;
}

TEST(TokenFile, WriterRefusesIdsThatDoNotFit) {
  TempDir dir;
  const std::vector<int32_t> big = {5, 70000};
  EXPECT_NE(input_error_of([&] { write_token_file(dir.file("w.bin"), big, TokenDtype::U16); }).find("70000"),
            std::string::npos);
  EXPECT_NO_THROW(write_token_file(dir.file("w.bin"), big, TokenDtype::U32));
  const std::vector<int32_t> negative = {5, -1};
  EXPECT_NE(input_error_of([&] { write_token_file(dir.file("n.bin"), negative, TokenDtype::U32); }).find("-1"),
            std::string::npos);
}

TEST(TokenFile, DtypeNames) {
  EXPECT_EQ(parse_token_dtype("u16", "--token-dtype"), TokenDtype::U16);
  EXPECT_EQ(parse_token_dtype("uint32", "--token-dtype"), TokenDtype::U32);
  const std::string message = input_error_of([] { parse_token_dtype("i64", "--token-dtype"); });
  EXPECT_NE(message.find("--token-dtype"), std::string::npos) << message;
  EXPECT_NE(message.find("'i64'"), std::string::npos) << message;
}

TEST(TokenFile, RealAustenTokens) {
  LL_REQUIRE_SHARED_DATA();
  const TokenFile file = open_token_file(shared_path("tests/austen-all.tok512.u16.bin"), TokenDtype::U16, 512);
  EXPECT_EQ(file.size(), 2290659);
  EXPECT_EQ(file[file.size() - 1], 2);  // documents end with EOS
  // A vocabulary smaller than its largest id (509) is refused.
  EXPECT_THROW(open_token_file(shared_path("tests/austen-all.tok512.u16.bin"), TokenDtype::U16, 300), InputError);
}

}  // namespace
}  // namespace ll::test
