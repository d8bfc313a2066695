// Shared pieces of the training tests: tiny random LLaMA checkpoints, a BatchSource over a token
// vector, the real Austen tokens, and byte-for-byte comparison of output files.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "train/batch_source.h"
#include "train/train_options.h"

namespace ll::test {

// A tiny random LLaMA as an HF directory at `dir` (GQA, odd FFN width, vocab 512 = stories260K's,
// so the Austen token files fit; the stories260K tokenizer.model is copied when the shared data is
// present). dtype: f32 or bf16 weights.
void write_tiny_llama(const std::string& dir, DType dtype = DType::F32, int64_t layers = 2, int64_t hidden = 48,
                      uint64_t seed = 5);

// Rows of `context` tokens cut one after another from `tokens` (wrapping at the end): targets are
// the next token, −100 at the row's last position, as packed pre-training rows are.
class TokenRows : public BatchSource {
 public:
  TokenRows(std::vector<int32_t> tokens, int64_t context);
  TrainBatch next(int64_t batch_size) override;
  nlohmann::json cursor() const override;
  void restore(const nlohmann::json& cursor) override;
  int64_t rows_per_epoch() const override { return static_cast<int64_t>(tokens_.size()) / context_; }
  int64_t tokens_per_epoch() const override { return rows_per_epoch() * context_; }
  std::string describe() const override;

 private:
  std::vector<int32_t> tokens_;
  int64_t context_;
  int64_t next_row_ = 0;
  uint64_t fingerprint_;
};

// `n` tokens (ids < vocab) from a fixed seed.
std::vector<int32_t> random_tokens(int64_t n, int32_t vocab, uint64_t seed);
// The first `n` tokens of the six Austen novels tokenized for stories260K (shared data).
std::vector<int32_t> austen_tokens(int64_t n);
// Writes tokens as a headerless uint16 token file.
void write_u16_tokens(const std::string& path, const std::vector<int32_t>& tokens);

// Options for fast tests on write_tiny_llama's model: context 32, batch 2, accumulation 2, 6 updates,
// checkpoints every 2, warm-up 2, lr 1e-3, LoRA dropout 0.1 (so the dropout state matters).
TrainOptions tiny_train_options(const std::string& model_dir);

// Every regular file under `dir`, relative paths, sorted.
std::vector<std::string> files_under(const std::string& dir);

}  // namespace ll::test
