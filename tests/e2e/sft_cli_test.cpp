// `longlora sft` end to end through the binary on the real stories260K model and a small
// LongAlpaca-format JSON made of Jane Austen's text (some examples with "input", one longer than
// the context): the data summary, the first update's loss against the library's own forward pass
// over the same batches, the outputs loading in eval/generate, --resume, and bad JSON (exit 2, one
// message naming the file, the example and the field).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "model/llama_model.h"
#include "model/train_step.h"
#include "support/test_support.h"
#include "text/tokenizer.h"
#include "train/sft_data.h"

namespace ll {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kContext = 640;

// 12 examples cut from Emma: instructions and outputs of a few hundred characters, "input" (and
// with it the template's system prompt) in every third one, and example 5's output 4000 characters
// (stories260K's tokenizer makes about one token of two characters: longer than kContext tokens).
json austen_examples() {
  const std::string emma = test::read_file(test::shared_path("austen/emma.txt"));
  json list = json::array();
  size_t at = 2000;
  auto take = [&](size_t chars) {
    const std::string piece = emma.substr(at, chars);
    at += chars;
    return piece;
  };
  for (int i = 0; i < 12; ++i) {
    json example = {{"instruction", "Continue the story of Emma, part " + std::to_string(i) + ":\n" + take(30 + 4 * i)}};
    if (i % 3 == 1) example["input"] = take(40 + 3 * i);
    example["output"] = take(i == 5 ? 4000 : 100 + 12 * i);
    list.push_back(example);
  }
  return list;
}

class SftCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (test::shared_data_dir().empty()) GTEST_SKIP() << "../shared/data not found: the test needs stories260K";
    base = test::shared_path("stories260K-hf");
    data = dir.file("long_alpaca.json");
    test::write_file(data, austen_examples().dump(1));
  }
  // A short run into `run` at `context`, plus `extra` flags.
  std::vector<std::string> sft_args(const std::string& run, std::vector<std::string> extra = {},
                                    int64_t context = kContext) const {
    std::vector<std::string> a = {"sft",       "--model", base,   "--data",         data, "--out",   run,
                                  "--context", std::to_string(context), "--batch-size", "2", "--grad-accum", "2",
                                  "--lr",      "2e-3",    "--warmup-steps", "0", "--dtype", "f32", "--threads", "1"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  // Exit status 2 with `needles` in the one error message, and no run directory.
  void expect_refused(const std::string& json_text, const std::vector<std::string>& needles) {
    const std::string bad = dir.file("bad.json"), run = dir.file("refused-run");
    test::write_file(bad, json_text);
    auto args = sft_args(run);
    args[4] = bad;
    const test::CliResult r = test::run_cli(args);
    EXPECT_EQ(r.status, 2) << json_text << "\n" << r.err;
    EXPECT_NE(r.err.find("longlora: error: "), std::string::npos) << r.err;
    for (const std::string& needle : needles)
      EXPECT_NE(r.err.find(needle), std::string::npos) << "message lacks '" << needle << "': " << r.err;
    EXPECT_FALSE(fs::exists(run)) << json_text;
  }
  test::TempDir dir;
  std::string base, data;
};

std::vector<json> metrics_lines(const std::string& run) {
  std::vector<json> lines;
  std::istringstream in(test::read_file(run + "/metrics.jsonl"));
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  return lines;
}

TEST_F(SftCli, FirstUpdateLossIsTheLibrarysLossOfTheSameBatches) {
  const std::string run = dir.file("run");
  const auto r = test::run_cli(sft_args(run, {"--max-steps", "3", "--save-steps", "2"}));
  ASSERT_EQ(r.status, 0) << r.err;
  // The data summary: 12 examples kept, the long one truncated, the share of loss tokens.
  EXPECT_NE(r.err.find("long_alpaca.json: 12 examples"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("of them in the loss (of 12 examples: 1 truncated to 640, 0 skipped"), std::string::npos) << r.err;
  for (const char* f :
       {"adapter/adapter_config.json", "adapter/adapter_model.safetensors", "adapter/trainable_params.bin",
        "metrics.jsonl", "checkpoints/step-2/state.json", "checkpoints/step-3/params.safetensors"})
    EXPECT_TRUE(fs::exists(run + "/" + f)) << f;
  const json config = json::parse(test::read_file(run + "/train_config.json"));
  EXPECT_EQ(config["options"]["task"], "sft");
  EXPECT_EQ(config["options"]["data"], data);

  // The same two micro-batches of two examples through the library: before the first update the
  // LoRA+ model (B = 0, embeddings and norms as loaded) computes the base model's loss.
  auto model = LlamaModel::open(base, ModelOptions{Precision::F32, kContext, 0});
  const auto tokenizer = load_tokenizer(model->files());
  SftDataOptions data_options;
  data_options.context = kContext;
  data_options.seed = 42;
  const auto examples = open_sft_data(data, *tokenizer, data_options);
  AttentionMask s2;
  s2.mode = AttentionMode::S2Shift;
  Arena arena;
  double mean_loss = 0;
  int64_t tokens = 0, loss_tokens = 0;
  for (int micro_batch = 0; micro_batch < 2; ++micro_batch) {
    const TrainBatch batch = examples->next(2);
    const LossSum loss = forward_loss(*model, batch, s2, arena);
    mean_loss += loss.sum / static_cast<double>(loss.count) / 2;
    for (int64_t length : batch.layout.lengths) tokens += length;
    loss_tokens += loss.count;
  }
  const std::vector<json> steps = metrics_lines(run);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0]["tokens"], tokens);
  EXPECT_EQ(steps[0]["loss_tokens"], loss_tokens);
  EXPECT_NEAR(steps[0]["loss"].get<double>(), mean_loss, 1e-5 * mean_loss);
  EXPECT_LT(loss_tokens, tokens - 4) << "prompts are masked from the loss";
}

TEST_F(SftCli, AdapterLoadsInEvalAndGenerate) {
  const std::string run = dir.file("run");
  const auto r = test::run_cli(sft_args(run, {"--max-steps", "2"}, 1024));
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string tokens = test::shared_path("tests/austen-all.tok512.u16.bin");
  auto perplexity = [&](std::vector<std::string> args, const std::string& json_path) {
    for (const char* a : {"--data", tokens.c_str(), "--context", "1024", "--max-windows", "1", "--threads", "1",
                                 "--json", json_path.c_str()})
      args.push_back(a);
    const auto e = test::run_cli(args);
    EXPECT_EQ(e.status, 0) << e.err;
    return json::parse(test::read_file(json_path))["results"][0]["perplexity"].get<double>();
  };
  const double tuned = perplexity({"eval", "--model", base, "--adapter", run}, dir.file("tuned.json"));
  const double plain = perplexity({"eval", "--model", base, "--rope-factor", "2"}, dir.file("plain.json"));
  EXPECT_NE(tuned, plain) << "the adapter changed nothing";

  const auto g = test::run_cli({"generate", "--model", base, "--adapter", run, "--prompt", "Emma Woodhouse,", "--greedy",
                                "-n", "8", "--threads", "1"});
  ASSERT_EQ(g.status, 0) << g.err;
  EXPECT_FALSE(g.out.empty());
}

TEST_F(SftCli, ResumedRunEndsBitIdentical) {
  const std::string whole = dir.file("whole"), resumed = dir.file("resumed");
  const std::vector<std::string> schedule = {"--max-steps", "4", "--save-steps", "2"};
  ASSERT_EQ(test::run_cli(sft_args(whole, schedule)).status, 0);
  ASSERT_EQ(test::run_cli(sft_args(resumed, schedule)).status, 0);
  // As if killed right after the checkpoint of update 2: its later state and the outputs are gone.
  for (const char* gone : {"checkpoints/step-4", "adapter"}) fs::remove_all(resumed + "/" + gone);

  const auto again = test::run_cli({"sft", "--resume", resumed});
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_NE(again.err.find("longlora sft: continuing after update 2"), std::string::npos) << again.err;
  for (const char* f : {"adapter/adapter_model.safetensors", "adapter/trainable_params.bin",
                        "checkpoints/step-4/optimizer.safetensors"})
    EXPECT_TRUE(test::read_file(whole + "/" + f) == test::read_file(resumed + "/" + f)) << f << " differs";
  EXPECT_EQ(metrics_lines(resumed).size(), 4u);

  // The other command refuses the run, naming the one that continues it.
  const auto wrong = test::run_cli({"train", "--resume", resumed});
  EXPECT_EQ(wrong.status, 2) << wrong.err;
  EXPECT_NE(wrong.err.find("a `longlora sft` run, not a `longlora train` one"), std::string::npos) << wrong.err;
}

TEST_F(SftCli, MalformedJsonNamesTheFileExampleAndField) {
  expect_refused(R"([{"instruction": "a", "output": "b"},)", {"bad.json"});
  expect_refused("[]", {"bad.json", "no examples"});
  expect_refused(R"({"instruction": "a", "output": "b"})", {"bad.json", "a JSON list"});
  expect_refused(R"([{"instruction": "a", "output": "b"}, {"instruction": "c", "input": "d"}])",
                 {"bad.json", "example [1]", "'output'", "missing"});
  expect_refused(R"([{"instruction": "a", "output": "b"}, {"instruction": "c", "output": "d"}, {"instruction": 7, "output": "e"}])",
                 {"bad.json", "example [2]", "'instruction'", "a string"});
  expect_refused(R"([{"instruction": "a", "output": "b", "input": ["x"]}])", {"bad.json", "example [0]", "'input'", "a string"});
  expect_refused(R"([{"instruction": "a", "output": "b"}, "c"])", {"bad.json", "example [1]", "an object"});
}

}  // namespace
}  // namespace ll
