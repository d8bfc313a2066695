// Damaged files: every truncation of a valid file, and random byte changes in its header, are
// either read or refused with an InputError — never a crash, another exception, or a huge
// allocation (the sanitizer build checks the memory side).
#include <gtest/gtest.h>

#include <random>

#include "formats/gguf.h"
#include "formats/gguf_writer.h"
#include "formats/safetensors.h"
#include "formats/safetensors_writer.h"
#include "support/test_support.h"
#include "unit/formats/formats_test_util.h"

namespace ll {
namespace {

// Reads everything readable in the file; InputError for malformed input propagates.
void read_all_safetensors(const std::string& path) {
  const SafetensorsFile f(path);
  for (const auto& e : f.entries())
    if (e.supported) f.tensor(e.name);
}

void read_all_gguf(const std::string& path) {
  const GgufFile g(path);
  for (const auto& key : g.keys()) {
    const GgufValue* v = g.find(key);
    if (v->type == GgufType::STRING) g.get_string(key);
    if (v->type == GgufType::ARRAY && v->elem_type == GgufType::STRING) g.get_string_array(key);
  }
  for (const auto& e : g.tensor_entries())
    if (e.supported) g.tensor(e.name);
}

// 1 if `read` accepted the file, 0 if it threw InputError; anything else fails the test.
int outcome(const std::function<void(const std::string&)>& read, const std::string& path) {
  try {
    read(path);
    return 1;
  } catch (const InputError&) {
    return 0;
  }
}

std::string valid_safetensors(const test::TempDir& dir) {
  const OwnedTensor a = test::random_tensor(DType::F32, {3, 5}, 61);
  const OwnedTensor b = test::random_tensor(DType::BF16, {7}, 62);
  const OwnedTensor c = test::random_tensor(DType::I32, {2, 2}, 63);
  write_safetensors(dir.file("valid.safetensors"), {{"a", a.view()}, {"b", b.view()}, {"c", c.view()}},
                    {{"format", "pt"}});
  return test::read_file(dir.file("valid.safetensors"));
}

std::string valid_gguf(const test::TempDir& dir) {
  const OwnedTensor a = test::random_tensor(DType::F32, {3, 5}, 64);
  const OwnedTensor b = test::random_tensor(DType::F16, {2, 16}, 65);  // 64 bytes: no padding after it
  GgufWriter w;
  w.add_string("general.architecture", "llama");
  w.add_u32("llama.block_count", 2);
  w.add_string_array("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "hello"});
  w.add_f32_array("tokenizer.ggml.scores", {0, 0, 0, -1.5f});
  w.add_tensor("a", a.view());
  w.add_tensor("b", b.view());
  w.write(dir.file("valid.gguf"));
  return test::read_file(dir.file("valid.gguf"));
}

TEST(CorruptFiles, EveryTruncationIsRefused) {
  test::TempDir dir;
  const std::string path = dir.file("cut");
  const struct {
    std::string bytes;
    std::function<void(const std::string&)> read;
  } formats[] = {{valid_safetensors(dir), read_all_safetensors}, {valid_gguf(dir), read_all_gguf}};
  for (const auto& format : formats) {
    test::write_file(path, format.bytes);
    ASSERT_EQ(outcome(format.read, path), 1);
    // The last tensor ends the file in both (no trailing padding), so every prefix is incomplete.
    for (size_t n = 0; n < format.bytes.size(); ++n) {
      test::write_file(path, format.bytes.substr(0, n));
      EXPECT_EQ(outcome(format.read, path), 0) << "accepted a file cut to " << n << " bytes";
    }
  }
}

TEST(CorruptFiles, RandomHeaderDamageNeverCrashes) {
  test::TempDir dir;
  const std::string path = dir.file("damaged");
  std::mt19937 rng(2024);
  const struct {
    std::string bytes;
    std::function<void(const std::string&)> read;
  } formats[] = {{valid_safetensors(dir), read_all_safetensors}, {valid_gguf(dir), read_all_gguf}};
  for (const auto& format : formats) {
    const size_t header_bytes = format.bytes.size() - 15 * 4 - 32;  // leave most tensor data alone
    int refused = 0;
    for (int trial = 0; trial < 250; ++trial) {
      std::string bytes = format.bytes;
      const int changes = 1 + int(rng() % 3);
      for (int i = 0; i < changes; ++i) {
        const size_t pos = rng() % header_bytes;
        // Half the time a small nudge (off-by-some counts and lengths), else any byte.
        bytes[pos] = rng() % 2 ? char(bytes[pos] + int(rng() % 5) - 2) : char(rng());
      }
      test::write_file(path, bytes);
      refused += 1 - outcome(format.read, path);
    }
    EXPECT_GT(refused, 60);  // most damage is detected
  }
}

}  // namespace
}  // namespace ll
