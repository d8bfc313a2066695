// SFT data: the exact masking of each target, truncation, skipped examples, padded batches,
// grouping by length, cursor/restore and every malformed input.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "kernels/cross_entropy.h"
#include "support/test_support.h"
#include "text/prompt_template.h"
#include "train/sft_data.h"
#include "train/sft_example.h"
#include "train_data_test_util.h"

namespace ll::test {
namespace {

constexpr int32_t X = kIgnoreIndex;

SftDataOptions in_order(int64_t context) {
  SftDataOptions options;
  options.context = context;
  options.shuffle = false;
  return options;
}

nlohmann::json example(const std::string& instruction, const std::string& output, const std::string* input = nullptr) {
  nlohmann::json e = {{"instruction", instruction}, {"output", output}};
  if (input) e["input"] = *input;
  return e;
}

// Masking by hand on made-up ids: prompt P = [1 50 51 52], target Q = [60 61 2].
TEST(SftExample, MaskingByHand) {
  const std::vector<int32_t> prompt = {1, 50, 51, 52}, target = {60, 61, 2};
  const SftExample full = make_sft_example(prompt, target, 100);
  EXPECT_EQ(full.tokens, (std::vector<int32_t>{1, 50, 51, 52, 60, 61, 2}));
  EXPECT_FALSE(full.truncated);
  std::vector<int32_t> targets(7);
  sft_targets(full, targets);
  // Position 3 (the last prompt token) predicts the first target token 60.
  EXPECT_EQ(targets, (std::vector<int32_t>{X, X, X, 60, 61, 2, X}));

  const SftExample cut = make_sft_example(prompt, target, 6);  // the EOS is cut off
  EXPECT_TRUE(cut.truncated);
  EXPECT_EQ(cut.tokens, (std::vector<int32_t>{1, 50, 51, 52, 60, 61}));
  targets.resize(6);
  sft_targets(cut, targets);
  EXPECT_EQ(targets, (std::vector<int32_t>{X, X, X, 60, 61, X}));

  const SftExample one_target = make_sft_example(prompt, target, 5);
  targets.resize(5);
  sft_targets(one_target, targets);
  EXPECT_EQ(targets, (std::vector<int32_t>{X, X, X, 60, X}));
  EXPECT_TRUE(one_target.has_loss());

  EXPECT_FALSE(make_sft_example(prompt, target, 4).has_loss());  // the prompt fills the context
  EXPECT_FALSE(make_sft_example(prompt, target, 3).has_loss());
}

// The whole path on a real file: template, BOS, EOS, each target checked.
TEST(SftData, SmallExampleExactTargets) {
  TempDir dir;
  const std::string input = "the hat";
  write_file(dir.file("sft.json"),
             nlohmann::json::array({example("the cat", "a hen"), example("tin", "he", &input)}).dump());
  const Tokenizer& tok = tiny_tokenizer();
  const auto data = open_sft_data(dir.file("sft.json"), tok, in_order(4096));
  ASSERT_EQ(data->rows_per_epoch(), 2);

  // As supervised-fine-tune.py: prompt + output tokenised as one text with BOS and EOS; the first
  // len(BOS + prompt ids) tokens are the masked prompt.
  for (int i = 0; i < 2; ++i) {
    const std::string prompt = i == 0 ? "[INST]the cat[/INST]" : sft_prompt("tin", input);
    const std::vector<int32_t> whole = tok.encode(prompt + (i == 0 ? "a hen" : "he"), /*add_bos=*/true, /*add_eos=*/true);
    const size_t prompt_len = tok.encode(prompt, /*add_bos=*/true).size();
    const TrainBatch batch = data->next(1);
    ASSERT_EQ(batch.layout.T, static_cast<int64_t>(whole.size()));
    EXPECT_EQ(batch.layout.lengths, std::vector<int64_t>{batch.layout.T});
    EXPECT_EQ(batch.tokens, whole);
    const std::vector<int32_t> expected_targets =
        concat({std::vector<int32_t>(prompt_len - 1, X), std::vector<int32_t>(whole.begin() + prompt_len, whole.end()),
                std::vector<int32_t>{X}});
    EXPECT_EQ(batch.targets, expected_targets);
    EXPECT_TRUE(batch.doc_starts.empty());
  }
}

TEST(SftData, TruncationAndSkippedExamples) {
  TempDir dir;
  std::mt19937 rng(13);
  const std::string long_output = random_words(rng, 30);
  const std::string long_prompt = random_words(rng, 40);  // far more than 24 tokens
  write_file(dir.file("sft.json"), nlohmann::json::array({example("the", long_output), example(long_prompt, "he"),
                                                          example("a", "hen")})
                                       .dump());
  const Tokenizer& tok = tiny_tokenizer();
  const int64_t context = 24;
  const auto data = open_sft_data(dir.file("sft.json"), tok, in_order(context));
  ASSERT_EQ(data->rows_per_epoch(), 2);  // the long prompt is skipped
  EXPECT_NE(data->describe().find("of 3 examples: 1 truncated to 24, 1 skipped"), std::string::npos)
      << data->describe();

  const TrainBatch truncated = data->next(1);
  EXPECT_EQ(truncated.layout.T, context);
  const std::vector<int32_t> prompt = tok.encode("[INST]the[/INST]", true);
  const std::vector<int32_t> full = tok.encode("[INST]the[/INST]" + long_output, true, true);
  ASSERT_GT(static_cast<int64_t>(full.size()), context);
  EXPECT_EQ(truncated.tokens, std::vector<int32_t>(full.begin(), full.begin() + context));
  for (int64_t t = 0; t < context; ++t) {
    const bool loss = t + 1 >= static_cast<int64_t>(prompt.size()) && t + 1 < context;
    EXPECT_EQ(truncated.targets[t], loss ? full[t + 1] : X) << t;
  }
  EXPECT_NE(truncated.tokens.back(), tok.eos_id());  // the EOS did not fit
  EXPECT_EQ(data->next(1).tokens, tok.encode("[INST]a[/INST]hen", true, true));
}

TEST(SftData, BatchesArePaddedWithEos) {
  TempDir dir;
  write_file(dir.file("sft.json"), nlohmann::json::array({example("the", "a"), example("the cat", "the hen in the hat"),
                                                          example("a", "he")})
                                       .dump());
  const Tokenizer& tok = tiny_tokenizer();
  const auto data = open_sft_data(dir.file("sft.json"), tok, in_order(4096));
  const TrainBatch batch = data->next(3);
  std::vector<std::vector<int32_t>> rows;
  for (auto [instruction, output] : {std::pair{"the", "a"}, {"the cat", "the hen in the hat"}, {"a", "he"}})
    rows.push_back(tok.encode(llama2_prompt(instruction) + output, true, true));
  const int64_t longest = static_cast<int64_t>(rows[1].size());
  ASSERT_EQ(batch.layout.B, 3);
  ASSERT_EQ(batch.layout.T, longest);
  for (int64_t b = 0; b < 3; ++b) {
    const int64_t length = static_cast<int64_t>(rows[b].size());
    EXPECT_EQ(batch.layout.lengths[b], length);
    std::vector<int32_t> padded = rows[b];
    padded.resize(longest, tok.eos_id());
    EXPECT_EQ(row_tokens(batch, b), padded) << b;
    const std::vector<int32_t> targets = row_targets(batch, b);
    EXPECT_TRUE(std::all_of(targets.begin() + length - 1, targets.end(), [](int32_t t) { return t == X; })) << b;
    EXPECT_NE(targets[length - 2], X) << b;  // the last real position predicts the EOS
  }
}

TEST(SftData, GroupByLengthSortsRunsLongestFirst) {
  TempDir dir;
  std::mt19937 rng(31);
  nlohmann::json list = nlohmann::json::array();
  for (int i = 0; i < 23; ++i) list.push_back(example(random_words(rng, 1 + i % 7), random_words(rng, 1 + (i * 5) % 11)));
  write_file(dir.file("sft.json"), list.dump());
  SftDataOptions options = in_order(4096);
  options.shuffle = true;
  options.length_group = 8;
  const auto data = open_sft_data(dir.file("sft.json"), tiny_tokenizer(), options);
  std::vector<int64_t> lengths;
  for (int i = 0; i < 23; ++i) lengths.push_back(data->next(1).layout.lengths[0]);
  for (int64_t begin = 0; begin < 23; begin += 8) {
    const auto first = lengths.begin() + begin, last = lengths.begin() + std::min<int64_t>(23, begin + 8);
    EXPECT_TRUE(std::is_sorted(first, last, std::greater<>())) << ::testing::PrintToString(lengths);
  }
  EXPECT_FALSE(std::is_sorted(lengths.begin(), lengths.end(), std::greater<>()));  // only within runs
}

TEST(SftData, CursorRestoreContinuesWithTheSameBatches) {
  TempDir dir;
  std::mt19937 rng(17);
  nlohmann::json list = nlohmann::json::array();
  for (int i = 0; i < 19; ++i) list.push_back(example(random_words(rng, 1 + i % 5), random_words(rng, 2 + i % 3)));
  write_file(dir.file("sft.json"), list.dump());
  SftDataOptions options = in_order(64);
  options.shuffle = true;
  options.seed = 99;
  const auto reference = open_sft_data(dir.file("sft.json"), tiny_tokenizer(), options);
  const auto interrupted = open_sft_data(dir.file("sft.json"), tiny_tokenizer(), options);
  for (int i = 0; i < 8; ++i) {
    reference->next(3);
    interrupted->next(3);
  }
  const auto resumed = open_sft_data(dir.file("sft.json"), tiny_tokenizer(), options);
  resumed->restore(nlohmann::json::parse(interrupted->cursor().dump()));
  for (int i = 0; i < 20; ++i) {
    const TrainBatch expected = reference->next(2);
    const TrainBatch got = resumed->next(2);
    ASSERT_EQ(got.tokens, expected.tokens) << i;
    ASSERT_EQ(got.targets, expected.targets) << i;
    ASSERT_EQ(got.layout.lengths, expected.layout.lengths) << i;
  }
  options.context = 63;
  const auto other = open_sft_data(dir.file("sft.json"), tiny_tokenizer(), options);
  EXPECT_THROW(other->restore(reference->cursor()), InputError);
}

TEST(SftData, MalformedInputNamesFileExampleAndField) {
  TempDir dir;
  const std::map<std::string, std::string> cases = {
      {R"({"instruction": "a", "output": "b"})", "top level: expected a JSON list"},
      {R"([])", "the list holds no examples"},
      {R"([{"instruction": "a", "output": "b"}, "text"])", "example [1]: example: expected an object"},
      {R"([{"instruction": "a", "output": "b"}, {"output": "b"}])", "example [1]: field 'instruction' is missing"},
      {R"([{"instruction": "a"}])", "example [0]: field 'output' is missing"},
      {R"([{"instruction": "a", "output": 3}])", "example [0]: field 'output': expected a string, found number"},
      {R"([{"instruction": "a", "output": "b", "input": null}])", "example [0]: field 'input': expected a string, found null"},
      {R"([{"instruction": ["a"], "output": "b"}])", "example [0]: field 'instruction': expected a string, found array"},
      {R"([{"instruction": "a", "output": "b"})", "malformed JSON"},
  };
  for (const auto& [content, expected] : cases) {
    write_file(dir.file("bad.json"), content);
    const std::string message = input_error_of([&] { open_sft_data(dir.file("bad.json"), tiny_tokenizer(), in_order(64)); });
    EXPECT_NE(message.find(dir.file("bad.json") + ": " + expected), std::string::npos) << message;
  }
  // Every prompt fills the context: nothing to train on.
  write_file(dir.file("long.json"), nlohmann::json::array({example("the cat in the hat", "he")}).dump());
  const std::string message = input_error_of([&] { open_sft_data(dir.file("long.json"), tiny_tokenizer(), in_order(5)); });
  EXPECT_NE(message.find("prompt that fills --context 5"), std::string::npos) << message;
  EXPECT_NE(input_error_of([&] { open_sft_data(dir.file("missing.json"), tiny_tokenizer(), in_order(5)); })
                .find("missing.json"),
            std::string::npos);
}

TEST(SftData, MaxExamples) {
  TempDir dir;
  write_file(dir.file("sft.json"),
             nlohmann::json::array({example("a", "b"), example("c", "d"), example("e", "f")}).dump());
  SftDataOptions options = in_order(64);
  options.max_examples = 2;
  EXPECT_EQ(open_sft_data(dir.file("sft.json"), tiny_tokenizer(), options)->rows_per_epoch(), 2);
}

TEST(SftDataReal, StoriesTokenizer) {
  LL_REQUIRE_SHARED_DATA();
  TempDir dir;
  const std::string instruction = "Tell me a story about a cat.", output = "Once upon a time, there was a cat.";
  write_file(dir.file("sft.json"), nlohmann::json::array({example(instruction, output)}).dump());
  const Tokenizer& tok = stories_tokenizer();
  const auto data = open_sft_data(dir.file("sft.json"), tok, in_order(512));
  const std::string prompt = "[INST]" + instruction + "[/INST]";
  const std::vector<int32_t> whole = tok.encode(prompt + output, true, true);
  const size_t prompt_len = tok.encode(prompt, true).size();
  const TrainBatch batch = data->next(1);
  EXPECT_EQ(batch.tokens, whole);
  EXPECT_EQ(batch.targets, concat({std::vector<int32_t>(prompt_len - 1, X),
                                   std::vector<int32_t>(whole.begin() + prompt_len, whole.end()), {X}}));
  // Tokenised whole, the output's first token carries no dummy-prefix space: "]O..." not "▁O...".
  EXPECT_NE(whole[prompt_len], tok.encode(output, false)[0]);
}

}  // namespace
}  // namespace ll::test
