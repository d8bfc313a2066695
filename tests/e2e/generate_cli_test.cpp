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
