// `longlora generate` / `tokenize` / `info` on the real stories260K model, through the binary.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace ll {
namespace {

// The original implementation's greedy output from BOS (../shared/data/tests/stories260K-greedy.txt),
// which ends with the newline its printer adds after the last token.
std::string known_greedy_text() {
  std::string text = test::read_file(test::shared_path("tests/stories260K-greedy.txt"));
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

TEST(GenerateCli, GreedyFromBosReproducesTheKnownStory) {
  LL_REQUIRE_SHARED_DATA();
  const std::string want = known_greedy_text();
  ASSERT_EQ(want.rfind("Once upon a time, there was a little girl named Lily. She loved to play outside in the park.", 0), 0u);
  for (const char* model : {"stories260K.gguf", "stories260K-hf"}) {
    const auto r = test::run_cli({"generate", "--model", test::shared_path(model), "--prompt", "", "--greedy", "-n", "200"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out.substr(0, want.size()), want) << model;
  }
}

TEST(GenerateCli, ContinuesAPrompt) {
  LL_REQUIRE_SHARED_DATA();
  const auto r = test::run_cli({"generate", "--model", test::shared_path("stories260K.gguf"), "--prompt",
                                "Once upon a time, there was a little girl named Lily.", "--greedy", "-n", "12"});
  ASSERT_EQ(r.status, 0) << r.err;
  // The continuation only, starting where the known story continues.
  EXPECT_EQ(r.out.rfind(" She loved to play outside", 0), 0u) << r.out;
}

TEST(GenerateCli, JsonHoldsTheIdsAndTheText) {
  LL_REQUIRE_SHARED_DATA();
  test::TempDir dir;
  const auto r = test::run_cli({"generate", "--model", test::shared_path("stories260K.gguf"), "--prompt", "Lily saw",
                                "--greedy", "-n", "12", "--json", dir.file("out.json")});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(test::read_file(dir.file("out.json")));
  const auto tok =
      test::run_cli({"tokenize", "--model", test::shared_path("stories260K.gguf"), "--text", "Lily saw", "--bos"});
  std::string prompt_ids;
  for (const auto& id : j["prompt_tokens"])
    prompt_ids += (prompt_ids.empty() ? "" : " ") + std::to_string(id.get<int>());
  EXPECT_EQ(prompt_ids + "\n", tok.out);
  EXPECT_EQ(j["tokens"].size(), 12u);
  EXPECT_EQ(j["text"].get<std::string>() + "\n", r.out);  // what was printed, without the closing newline
  EXPECT_EQ(j["rope_factor"], 1.0);
  EXPECT_EQ(j["stopped_at_eos"], false);
}

TEST(GenerateCli, SamplingIsReproducibleForASeed) {
  LL_REQUIRE_SHARED_DATA();
  const std::vector<std::string> args = {"generate", "--model", test::shared_path("stories260K.gguf"), "--prompt",
                                         "Tom had a dog", "-n", "40", "--temperature", "0.9", "--top-p", "0.9", "--seed", "7"};
  const auto a = test::run_cli(args), b = test::run_cli(args);
  ASSERT_EQ(a.status, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  auto other_seed = args;
  other_seed.back() = "8";
  EXPECT_NE(test::run_cli(other_seed).out, a.out);
}

TEST(TokenizeCli, PrintsIdsOnOneLine) {
  LL_REQUIRE_SHARED_DATA();
  const auto r = test::run_cli({"tokenize", "--tokenizer", test::shared_path("llama2-tokenizer.model"), "--text", "Hello world"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "15043 3186\n");
  const auto bos = test::run_cli({"tokenize", "--tokenizer", test::shared_path("llama2-tokenizer.model"), "--text",
                                  "Hello world", "--bos"});
  EXPECT_EQ(bos.out, "1 15043 3186\n");
  // The same vocabulary from the GGUF file and from the HF directory's tokenizer.model.
  const auto gguf = test::run_cli({"tokenize", "--model", test::shared_path("stories260K.gguf"), "--text", "Lily saw a big dog."});
  const auto hf = test::run_cli({"tokenize", "--model", test::shared_path("stories260K-hf"), "--text", "Lily saw a big dog."});
  ASSERT_EQ(gguf.status, 0) << gguf.err;
  EXPECT_EQ(gguf.out, hf.out);
}

TEST(InfoCli, DescribesTheModelAndItsMemoryPlan) {
  LL_REQUIRE_SHARED_DATA();
  const auto r = test::run_cli({"info", "--model", test::shared_path("stories260K.gguf"), "--context", "8192"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("5 layers, hidden 64, FFN 172, vocab 512"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("8 heads of dim 8, 4 KV heads (GQA)"), std::string::npos);
  EXPECT_NE(r.out.find("rope factor 4"), std::string::npos);  // 8192 / 2048 (the GGUF's context_length)
  EXPECT_NE(r.out.find("KV cache"), std::string::npos);
  EXPECT_NE(r.out.find("training at 8192 tokens (bf16, LoRA r=8 + embed,norm"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("activations and gradients (arena)"), std::string::npos);
}

// The figure after the first ": " that follows `prefix` in info's output, in bytes when it is one
// ("training at 9472 tokens (…): 23.91 GiB"), else the number ("  training (…): 9472 tokens …"); −1 if absent.
double figure_after(const std::string& out, const std::string& prefix) {
  const size_t line = out.find(prefix);
  if (line == std::string::npos) return -1;
  const size_t at = out.find(": ", line + prefix.size()) + 2;
  size_t used = 0;
  const double value = std::stod(out.substr(at), &used);
  const std::string unit = out.substr(at + used, 4);
  return unit == " GiB" ? value * 1073741824.0 : unit == " MiB" ? value * 1048576.0 : value;
}

// Sizing LLaMA-2-7B before downloading it (LongLoRA #9, #154): its config.json alone, no weights.
TEST(InfoCli, PlansFromAConfigJsonAloneAndFindsTheLargestContext) {
  const std::string config = test::source_dir() + "/bench/configs/llama2-7b.json";
  const auto r = test::run_cli({"info", "--model", config, "--context", "32768", "--memory", "24GiB", "--threads", "2"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("config.json alone: shapes only"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("32 layers, hidden 4096, FFN 11008, vocab 32000"), std::string::npos);
  EXPECT_NE(r.out.find("weights dtype:    f16"), std::string::npos);
  // Inference at 32k with the default 16-bit KV cache (bf16: f16 weights compute in bf16) plans under 30 GiB.
  EXPECT_NE(r.out.find("inference at 32768 tokens (bf16, bf16 KV cache)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("KV cache (bf16)"), std::string::npos);
  const double inference = figure_after(r.out, "inference at 32768 tokens");
  EXPECT_GT(inference, 20.0 * (1 << 30));
  EXPECT_LT(inference, 30.0 * (1 << 30)) << r.out;
  // The largest contexts within 24 GiB: multiples of 256 whose plans fit, the next step's not.
  EXPECT_NE(r.out.find("largest context within 24.00 GiB"), std::string::npos) << r.out;
  const double train_tokens = figure_after(r.out, "  training (bf16, LoRA r=8 + embed,norm, batch 1, checkpointing)");
  const double infer_tokens = figure_after(r.out, "  inference (bf16, bf16 KV cache)");
  ASSERT_GT(train_tokens, 0) << r.out;
  EXPECT_EQ(static_cast<int64_t>(train_tokens) % 256, 0);
  EXPECT_GT(infer_tokens, train_tokens);
  for (auto [tokens, plan] : {std::pair{train_tokens, "training at "}, std::pair{infer_tokens, "inference at "}}) {
    const std::string n = std::to_string(static_cast<int64_t>(tokens)), next = std::to_string(static_cast<int64_t>(tokens) + 256);
    const auto at = test::run_cli({"info", "--model", config, "--context", n, "--threads", "2"});
    const auto past = test::run_cli({"info", "--model", config, "--context", next, "--threads", "2"});
    EXPECT_LE(figure_after(at.out, plan + n + " tokens"), 24.0 * (1 << 30)) << at.out;
    EXPECT_GT(figure_after(past.out, plan + next + " tokens"), 24.0 * (1 << 30)) << past.out;
  }
}

TEST(InfoCli, BadMemoryAndKvCacheFlags) {
  const std::string config = test::source_dir() + "/bench/configs/llama2-7b.json";
  const auto memory = test::run_cli({"info", "--model", config, "--memory", "lots"});
  EXPECT_EQ(memory.status, 2);
  EXPECT_NE(memory.err.find("--memory"), std::string::npos) << memory.err;
  const auto kv = test::run_cli({"info", "--model", config, "--kv-cache", "f8"});
  EXPECT_EQ(kv.status, 2);
  EXPECT_NE(kv.err.find("--kv-cache"), std::string::npos) << kv.err;
  const auto both = test::run_cli({"info", "--model", config, "--no-checkpointing", "--recompute-attention"});
  EXPECT_EQ(both.status, 2);
  EXPECT_NE(both.err.find("--recompute-attention"), std::string::npos) << both.err;
  EXPECT_EQ(both.out, "") << "refused before printing anything";
  test::TempDir dir;
  test::write_file(dir.file("config.json"), "{\"model_type\": \"llama\", \"hidden_size\": 64}");
  const auto bad = test::run_cli({"info", "--model", dir.file("config.json")});
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find(dir.file("config.json")), std::string::npos) << bad.err;
}

TEST(Cli, BadInputExitsWithStatus2AndOneMessage) {
  test::TempDir dir;
  const auto missing = test::run_cli({"generate", "--model", dir.file("nope"), "--prompt", "x"});
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(missing.err.find(dir.file("nope")), std::string::npos) << missing.err;
  const auto unknown = test::run_cli({"generate", "--bogus"});
  EXPECT_EQ(unknown.status, 2);
  EXPECT_NE(unknown.err.find("--bogus"), std::string::npos);
  EXPECT_EQ(test::run_cli({"frobnicate"}).status, 2);
  const auto no_model = test::run_cli({"info"});
  EXPECT_EQ(no_model.status, 2);
  EXPECT_NE(no_model.err.find("--model"), std::string::npos);
}

}  // namespace
}  // namespace ll
