// Perplexity under LongLoRA's eval.py loop against the PyTorch oracle on the real stories260K
// model and LongLoRA-style token files; window planning of the three protocols.
#include <gtest/gtest.h>

#include <fstream>

#include "eval/perplexity.h"
#include "formats/token_file.h"
#include "support/test_support.h"

namespace ll {
namespace {

std::vector<int32_t> read_tokens(const std::string& path) {
  const TokenFile f = open_token_file(path, TokenDtype::U16, 512);
  std::vector<int32_t> ids(static_cast<size_t>(f.size()));
  f.read(0, f.size(), ids.data());
  return ids;
}

TEST(Perplexity, LongLoRAProtocolMatchesEvalPyOnTheRealModel) {
  LL_REQUIRE_SHARED_DATA();
  LL_REQUIRE_TORCH();
  test::TempDir dir;
  const std::string data = test::shared_path("tests/austen-1024.tok512.u16.bin");
  auto model = LlamaModel::open(test::shared_path("stories260K-hf"), ModelOptions{});
  const std::vector<int32_t> tokens = read_tokens(data);
  for (int64_t seq_len : {128, 256}) {
    ASSERT_TRUE(test::run_oracle("eval_oracle.py", {test::shared_path("stories260K-hf"), data, std::to_string(seq_len),
                                                    dir.file("out.txt")}));
    std::ifstream in(dir.file("out.txt"));
    double want_loss = 0, want_ppl = 0;
    int64_t want_windows = 0;
    in >> want_loss >> want_ppl >> want_windows;
    PerplexityOptions o;
    o.seq_len = seq_len;
    o.batch_size = 3;  // batching must not change the number
    const PerplexityResult r = evaluate_perplexity(*model, tokens, o);
    EXPECT_EQ(r.windows, want_windows);
    EXPECT_EQ(r.predictions, want_windows * (seq_len - 1));
    EXPECT_NEAR(r.mean_loss, want_loss, 1e-5 * want_loss);
    EXPECT_NEAR(r.perplexity, want_ppl, 1e-4 * want_ppl);
  }
}

TEST(Perplexity, ProtocolsScoreTheExpectedTokens) {
  LL_REQUIRE_SHARED_DATA();
  auto model = LlamaModel::open(test::shared_path("stories260K.gguf"), ModelOptions{});
  const std::vector<int32_t> tokens = read_tokens(test::shared_path("tests/austen-1024.tok512.u16.bin"));
  PerplexityOptions o;
  o.seq_len = 256;
  // longlora: starts 0, 256, 512 (< 1024 − 256), the last dropped.
  EXPECT_EQ(evaluate_perplexity(*model, tokens, o).windows, 2);
  o.protocol = PerplexityProtocol::NonOverlapping;
  const PerplexityResult non = evaluate_perplexity(*model, tokens, o);
  EXPECT_EQ(non.windows, 4);
  EXPECT_EQ(non.predictions, 4 * 255);
  o.protocol = PerplexityProtocol::Strided;
  o.stride = 128;
  const PerplexityResult strided = evaluate_perplexity(*model, tokens, o);
  EXPECT_EQ(strided.predictions, 1023);  // every token but the first, exactly once
  EXPECT_LT(strided.perplexity, non.perplexity);  // more context per prediction
}

TEST(Perplexity, DataShorterThanOneWindowIsAnInputError) {
  LL_REQUIRE_SHARED_DATA();
  auto model = LlamaModel::open(test::shared_path("stories260K.gguf"), ModelOptions{});
  const std::vector<int32_t> tokens = read_tokens(test::shared_path("tests/austen-256.tok512.u16.bin"));
  PerplexityOptions o;
  o.seq_len = 256;
  EXPECT_THROW(evaluate_perplexity(*model, tokens, o), InputError);
}

}  // namespace
}  // namespace ll
