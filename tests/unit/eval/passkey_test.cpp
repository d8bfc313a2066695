// Passkey prompts equal LongLoRA's (built by its own code path in tests/reference/passkey_oracle.py)
// character for character; the length schedule; a retrieval run on the real model.
#include <gtest/gtest.h>

#include "eval/numpy_random.h"
#include "eval/passkey.h"
#include "support/test_support.h"
#include "text/tokenizer.h"

namespace ll {
namespace {

TEST(Passkey, PromptsMatchLongLoRAsConstructionExactly) {
  LL_REQUIRE_TORCH();  // numpy comes with Debian's python3-torch set-up
  test::TempDir dir;
  const std::vector<std::pair<int64_t, uint64_t>> cases = {{3072, 0}, {3072, 7}, {7168, 3}, {111616, 9}, {1024, 2}};
  std::vector<std::string> args = {dir.path()};
  for (const auto& [n, s] : cases) args.push_back(std::to_string(n) + ":" + std::to_string(s));
  ASSERT_TRUE(test::run_oracle("passkey_oracle.py", args));
  for (const auto& [n, s] : cases) {
    const PasskeyPrompt p = make_passkey_prompt(n, s);
    const std::string suffix = std::to_string(n) + "-" + std::to_string(s) + ".txt";
    EXPECT_EQ(p.prompt, test::read_file(dir.file("prompt-" + suffix))) << suffix;
    EXPECT_EQ(p.answer, test::read_file(dir.file("answer-" + suffix))) << suffix;
  }
}

TEST(Passkey, GoldenPromptShape) {
  // Fixed by numpy.random.seed(0): randint(0, 3072) = 2732, then randint(1, 50000) = 43568.
  const PasskeyPrompt p = make_passkey_prompt(3072, 0);
  EXPECT_EQ(p.answer, "43568");
  const std::string info = "\nThe pass key is 43568. Remember it. 43568 is the pass key.\n";
  const size_t at = p.prompt.find(info);
  ASSERT_NE(at, std::string::npos);
  const std::string head =
      "There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. "
      "I will quiz you about the important information there.\n";
  EXPECT_EQ(p.prompt.rfind(head, 0), 0u);
  EXPECT_EQ(at - head.size(), 2732u);  // prefix filler characters
  const size_t suffix_start = at + info.size();
  const std::string question = "\nWhat is the pass key? The pass key is";
  EXPECT_EQ(p.prompt.size() - question.size() - suffix_start, 3072u - 2732u);
  EXPECT_EQ(p.prompt.substr(p.prompt.size() - question.size()), question);
  EXPECT_EQ(p.prompt.substr(head.size(), 20), "The grass is green. ");
}

TEST(Passkey, LengthScheduleAsPasskeyRetrivialPy) {
  // int(3.75 * (i + 1) * interval // 1024 * 1024)
  EXPECT_EQ(passkey_garbage_chars(0, 1000), 3072);
  EXPECT_EQ(passkey_garbage_chars(1, 1000), 7168);
  EXPECT_EQ(passkey_garbage_chars(31, 1000), 119808);
  EXPECT_EQ(passkey_garbage_chars(0, 4096), 15360);
}

TEST(NumpyRandom, MatchesNumpyLegacyRandomState) {
  // numpy.random.seed(3); randint(0, 15360), randint(1, 50000) -> 5994, 1689
  NumpyLegacyRandom r(3);
  EXPECT_EQ(r.randint(0, 15360), 5994);
  EXPECT_EQ(r.randint(1, 50000), 1689);
}

TEST(Passkey, RetrievalTrialOnTheRealModel) {
  LL_REQUIRE_SHARED_DATA();
  auto model = LlamaModel::open(test::shared_path("stories260K.gguf"), ModelOptions{});
  auto tok = load_tokenizer(model->files());
  const PasskeyTrial t = run_passkey_trial(*model, *tok, 1024, 1);
  EXPECT_GT(t.prompt_tokens, 300);
  EXPECT_EQ(t.answer, make_passkey_prompt(1024, 1).answer);
  // A 260K-parameter story model does not retrieve keys; what matters is that the verdict is the
  // comparison of the answer's tokens.
  EXPECT_EQ(t.correct, t.model_answer == t.answer);
}

}  // namespace
}  // namespace ll
