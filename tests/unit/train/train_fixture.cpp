#include "unit/train/train_fixture.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/error.h"
#include "core/threads.h"
#include "kernels/cross_entropy.h"
#include "model/init_weights.h"
#include "support/test_support.h"

namespace ll::test {

namespace fs = std::filesystem;

namespace {
// These tests check the training loop, not the kernels' threading (the kernel and attention tests
// do): one thread keeps them fast on a busy machine, where each of OpenMP's spinning barriers can
// wait a scheduler slice for a descheduled worker. The CLI tests pass --threads 1 for the same reason.
class OneThread : public ::testing::Environment {
 public:
  void SetUp() override { set_num_threads(1); }
};
[[maybe_unused]] ::testing::Environment* const kOneThread = ::testing::AddGlobalTestEnvironment(new OneThread);
}  // namespace

void write_tiny_llama(const std::string& dir, DType dtype, int64_t layers, int64_t hidden, uint64_t seed) {
  LlamaConfig c;
  c.hidden_size = hidden;
  c.intermediate_size = 97;
  c.num_layers = layers;
  c.num_heads = 6;
  c.num_kv_heads = 2;
  c.head_dim = hidden / 6;
  c.vocab_size = 512;
  c.max_position_embeddings = 64;
  c.rms_norm_eps = 1e-5f;
  const std::string tokenizer =
      shared_data_dir().empty() ? std::string() : shared_path("stories260K-hf/tokenizer.model");
  write_initialized_llama(dir, c, seed, dtype, tokenizer, /*initializer_range=*/0.1);
}

TokenRows::TokenRows(std::vector<int32_t> tokens, int64_t context) : tokens_(std::move(tokens)), context_(context) {
  LL_CHECK(static_cast<int64_t>(tokens_.size()) >= context_);
  fingerprint_ = 1469598103934665603ull ^ static_cast<uint64_t>(context_);
  for (int32_t t : tokens_) fingerprint_ = (fingerprint_ ^ static_cast<uint32_t>(t)) * 1099511628211ull;
}

TrainBatch TokenRows::next(int64_t batch_size) {
  TrainBatch b;
  b.layout.B = batch_size;
  b.layout.T = context_;
  b.layout.lengths.assign(static_cast<size_t>(batch_size), context_);
  for (int64_t r = 0; r < batch_size; ++r) {
    const int64_t start = (next_row_ % rows_per_epoch()) * context_;
    for (int64_t t = 0; t < context_; ++t) {
      b.tokens.push_back(tokens_[static_cast<size_t>(start + t)]);
      b.targets.push_back(t + 1 < context_ ? tokens_[static_cast<size_t>(start + t + 1)] : kIgnoreIndex);
    }
    ++next_row_;
  }
  return b;
}

nlohmann::json TokenRows::cursor() const { return {{"row", next_row_}, {"fingerprint", fingerprint_}}; }

void TokenRows::restore(const nlohmann::json& cursor) {
  if (!cursor.is_object() || cursor.value("fingerprint", uint64_t{0}) != fingerprint_)
    fail_input("test data", "cursor of other data: " + cursor.dump());
  next_row_ = cursor.at("row").get<int64_t>();
}

std::string TokenRows::describe() const {
  return std::to_string(tokens_.size()) + " test tokens, " + std::to_string(rows_per_epoch()) + " rows of " +
         std::to_string(context_);
}

std::vector<int32_t> random_tokens(int64_t n, int32_t vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> id(3, vocab - 1);
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (auto& x : t) x = id(rng);
  return t;
}

std::vector<int32_t> austen_tokens(int64_t n) {
  std::ifstream in(shared_path("tests/austen-all.tok512.u16.bin"), std::ios::binary);
  std::vector<uint16_t> raw(static_cast<size_t>(n));
  in.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(n * 2));
  LL_CHECK(in.gcount() == n * 2);
  return {raw.begin(), raw.end()};
}

void write_u16_tokens(const std::string& path, const std::vector<int32_t>& tokens) {
  std::vector<uint16_t> raw(tokens.begin(), tokens.end());
  write_file(path, std::string(reinterpret_cast<const char*>(raw.data()), raw.size() * 2));
}

TrainOptions tiny_train_options(const std::string& model_dir) {
  TrainOptions o;
  o.model = model_dir;
  o.data = "test tokens";
  o.context = 32;
  o.batch_size = 2;
  o.grad_accum = 2;
  o.max_steps = 6;
  o.save_steps = 2;
  o.warmup_steps = 2;
  o.lr = 1e-3;
  o.lora_dropout = 0.1;
  o.threads = 0;
  return o;
}

std::vector<std::string> files_under(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) files.push_back(fs::relative(e.path(), dir).string());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace ll::test
