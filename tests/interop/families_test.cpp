// The model families LongLoRA users ask for (its issues #26, #94) against transformers itself: tiny random
// Llama 3 (llama3 RoPE scaling, theta 5e5), Mistral (sliding window), Qwen2 (q/k/v biases, tied embeddings,
// theta 1e6) and LLaMA-with-attention-bias checkpoints written by transformers (tests/interop/families.py):
// logits, the loss and every gradient equal to transformers' (f32), one `longlora train` step's loss equal to
// transformers' loss on the same tokens, merge writing what transformers loads with the same logits, and the
// sliding window refused where a query would attend past it.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "formats/json_file.h"
#include "formats/tensor_store.h"
#include "model/adapter.h"
#include "model/forward.h"
#include "model/train_step.h"
#include "support/test_support.h"

namespace ll {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The tolerance of every comparison: f32 on both sides, relative to the largest reference value.
constexpr double kTolerance = 1e-4;

// max |a − b| / max |b|
double rel_err(const float* a, const float* b, int64_t n) {
  double diff = 0, ref = 0;
  for (int64_t i = 0; i < n; ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - b[i]));
    ref = std::max(ref, std::fabs(static_cast<double>(b[i])));
  }
  return diff / ref;
}

std::vector<int32_t> read_tokens(const std::string& bin) {
  const std::string bytes = test::read_file(bin);
  std::vector<int32_t> ids(bytes.size() / 2);
  for (size_t i = 0; i < ids.size(); ++i)
    ids[i] = static_cast<uint8_t>(bytes[2 * i]) | static_cast<uint8_t>(bytes[2 * i + 1]) << 8;
  return ids;
}

// One case written by families.py make: DIR/model, DIR/tokens.bin (+ tokens_long.bin), expectations.
struct Case {
  test::TempDir dir;
  std::string model;
  std::vector<int32_t> tokens;
  json expected;

  // Writes the case; false (with a test failure) when the client fails.
  bool make(const std::string& name, int64_t T, int64_t T_long = 0) {
    if (!test::run_client("families.py", {"make", name, dir.path(), std::to_string(T), std::to_string(T_long)}))
      return false;
    model = dir.file("model");
    // `longlora train` and `eval` read a tokenizer from the model directory: stories260K's has the
    // tiny checkpoints' 512 pieces.
    fs::copy_file(test::shared_path("stories260K-hf/tokenizer.model"), model + "/tokenizer.model");
    tokens = read_tokens(dir.file("tokens.bin"));
    expected = read_json_file(dir.file("expected.json"));
    return true;
  }
  // The expectations; tensors from it are views into the store, which must outlive them.
  TensorStore store() const { return TensorStore::open_file(dir.file("expected.safetensors")); }
};

// Logits [T, V] of `model` over `tokens` (one row, full causal attention).
std::vector<float> logits_of(const LlamaModel& model, const std::vector<int32_t>& tokens) {
  const int64_t T = static_cast<int64_t>(tokens.size()), V = model.config().vocab_size;
  Arena arena;
  std::vector<float> hidden(static_cast<size_t>(T * model.config().hidden_size));
  forward_hidden(model, BatchLayout{1, T, {T}}, tokens.data(), AttentionMask{}, hidden.data(), arena);
  std::vector<float> logits(static_cast<size_t>(T * V));
  compute_logits(model, hidden.data(), T, logits.data(), arena);
  return logits;
}

ModelOptions f32_options(double rope_factor = 0) {
  ModelOptions o;
  o.precision = Precision::F32;
  o.rope_factor = rope_factor;
  return o;
}

void expect_logits_equal(const Case& c) {
  auto model = LlamaModel::open(c.model, f32_options());
  const std::vector<float> got = logits_of(*model, c.tokens);
  const TensorStore store = c.store();
  const Tensor want = store.get("logits");
  ASSERT_EQ(static_cast<int64_t>(got.size()), want.numel());
  const double err = rel_err(got.data(), want.as<float>(), want.numel());
  std::printf("logits vs transformers: relative error %.2e over %lld tokens\n", err,
              static_cast<long long>(c.tokens.size()));
  EXPECT_LT(err, kTolerance);
}

// Training every weight (--full) in f32: the loss and each gradient of the mean next-token loss equal
// transformers' (loss.backward()) — the biases' among them, and the tied embedding's (lm_head's included).
void expect_gradients_equal(const Case& c) {
  auto model = LlamaModel::open(c.model, f32_options());
  TrainableOptions full;
  full.full = true;
  model->make_trainable(full);
  const int64_t T = static_cast<int64_t>(c.tokens.size());
  TrainBatch batch;
  batch.layout = BatchLayout{1, T, {T}};
  batch.tokens = c.tokens;
  batch.targets.assign(c.tokens.begin() + 1, c.tokens.end());
  batch.targets.push_back(-100);
  TrainPassOptions o;
  o.grad_scale = 1.0f / static_cast<float>(T - 1);
  Arena arena;
  model->zero_grads();
  const LossSum loss = forward_backward(*model, batch, o, arena);
  EXPECT_NEAR(loss.sum / static_cast<double>(loss.count), c.expected["loss"].get<double>(),
              kTolerance * c.expected["loss"].get<double>());
  const TensorStore store = c.store();
  int64_t compared = 0;
  double worst = 0;
  for (const NamedParam& p : model->trainable_params()) {
    ASSERT_TRUE(store.has("grad." + p.name)) << p.name << " has no gradient in transformers' model";
    const Tensor want = store.get("grad." + p.name);
    ASSERT_EQ(want.numel(), p.param->grad.numel()) << p.name;
    const double err = rel_err(p.param->grad_data(), want.as<float>(), want.numel());
    EXPECT_LT(err, kTolerance) << p.name;
    worst = std::max(worst, err);
    ++compared;
  }
  EXPECT_EQ(compared, static_cast<int64_t>(store.names().size()) - 2);  // every parameter but tokens, logits
  std::printf("gradients vs transformers: %lld tensors, worst relative error %.2e\n",
              static_cast<long long>(compared), worst);
}

// `longlora train` for one update (f32, full attention unless `extra` says otherwise) on a token file
// of exactly one row; returns its metrics line.
json train_one_step(const Case& c, const std::string& data, int64_t context, const std::string& run,
                    const std::vector<std::string>& extra = {"--full-attn"}) {
  std::vector<std::string> args = {"train", "--model", c.model, "--data", data, "--context", std::to_string(context),
                                   "--out", run, "--max-steps", "1", "--grad-accum", "1", "--dtype", "f32",
                                   "--threads", "2"};
  args.insert(args.end(), extra.begin(), extra.end());
  const test::CliResult r = test::run_cli(args);
  EXPECT_EQ(r.status, 0) << r.err;
  std::istringstream lines(test::read_file(run + "/metrics.jsonl"));
  std::string first;
  std::getline(lines, first);
  return json::parse(first);
}

void expect_train_loss_equal(const Case& c) {
  const json step = train_one_step(c, c.dir.file("tokens.bin"), static_cast<int64_t>(c.tokens.size()),
                                   c.dir.file("run"));
  const double want = c.expected["loss"].get<double>();
  EXPECT_EQ(step["loss_tokens"], static_cast<int64_t>(c.tokens.size()) - 1);
  EXPECT_NEAR(step["loss"].get<double>(), want, kTolerance * want) << step.dump();
}

TEST(Llama3Interop, LogitsGradientsAndTrainLossEqualTransformers) {
  LL_REQUIRE_CLIENTS();
  LL_REQUIRE_SHARED_DATA();
  Case c;
  ASSERT_TRUE(c.make("llama3", 200));  // original context 64: positions to 199 see every band of the scaling
  // The scaled frequencies themselves, against the rotary embedding's buffer.
  auto model = LlamaModel::open(c.model, f32_options());
  const RopeTable& table = model->rope(2);
  const json& inv_freq = c.expected["inv_freq"];
  ASSERT_EQ(static_cast<int>(inv_freq.size()), table.head_dim() / 2);
  for (size_t i = 0; i < inv_freq.size(); ++i)  // sin(1 · inv_freq) = inv_freq to f32 precision here
    EXPECT_NEAR(std::asin(table.sin(1)[i]), inv_freq[i].get<double>(), 2e-7 * inv_freq[i].get<double>() + 1e-12)
        << "frequency " << i;
  expect_logits_equal(c);
  expect_gradients_equal(c);
  expect_train_loss_equal(c);
}

// Past max_position_embeddings (256), LongLoRA's rule gives k = ceil(512 / 256) = 2, which for a
// llama3-scaled model multiplies the llama3 factor (8 → 16) and max_position_embeddings (256 → 512);
// merge writes exactly that, and transformers loads it with longlora's logits.
TEST(Llama3Interop, ContextPastMaxPositionsMergesToWhatTransformersLoads) {
  LL_REQUIRE_CLIENTS();
  LL_REQUIRE_SHARED_DATA();
  Case c;
  ASSERT_TRUE(c.make("llama3", 16, 512));
  const std::string run = c.dir.file("run"), merged = c.dir.file("merged");
  const json step = train_one_step(c, c.dir.file("tokens_long.bin"), 512, run,
                                   {"--full-attn", "--lr", "1e-2", "--warmup-steps", "0"});
  EXPECT_GT(step["grad_norm"].get<double>(), 0);
  const json run_config = read_json_file(run + "/train_config.json");
  EXPECT_EQ(run_config["effective"]["rope_factor"], 16.0) << run_config.dump();
  const test::CliResult m = test::run_cli({"merge", "--model", c.model, "--adapter", run, "--out", merged});
  ASSERT_EQ(m.status, 0) << m.err;
  const json config = read_json_file(merged + "/config.json");
  EXPECT_EQ(config["model_type"], "llama");
  EXPECT_EQ(config["max_position_embeddings"], 512);
  EXPECT_EQ(config["rope_scaling"], json({{"rope_type", "llama3"},
                                          {"factor", 16.0},
                                          {"low_freq_factor", 1.0},
                                          {"high_freq_factor", 4.0},
                                          {"original_max_position_embeddings", 64}}));

  std::string out;
  ASSERT_TRUE(test::run_client("families.py", {"logits", merged, c.dir.file("tokens_long.bin"),
                                               c.dir.file("merged_logits.safetensors")}, &out));
  EXPECT_NE(out.find("loaded as LlamaForCausalLM"), std::string::npos) << out;
  const TensorStore merged_store = TensorStore::open_file(c.dir.file("merged_logits.safetensors"));
  const Tensor want = merged_store.get("logits");
  const std::vector<int32_t> tokens = read_tokens(c.dir.file("tokens_long.bin"));
  // The merged directory as longlora reads it back (its factor unchanged: 512 is its context now) ...
  auto reloaded = LlamaModel::open(merged, f32_options());
  EXPECT_EQ(reloaded->config().rope_factor, 16.0);
  const std::vector<float> merged_logits = logits_of(*reloaded, tokens);
  EXPECT_LT(rel_err(merged_logits.data(), want.as<float>(), want.numel()), kTolerance);
  // ... and the base with the run's adapter at the run's factor, unmerged.
  auto base = LlamaModel::open(c.model, f32_options(16.0));
  apply_adapter(*base, locate_adapter(run));
  const std::vector<float> unmerged = logits_of(*base, tokens);
  const double err = rel_err(unmerged.data(), want.as<float>(), want.numel());
  std::printf("llama3 x2 merged, 512 tokens: transformers vs longlora base + adapter: relative error %.2e\n", err);
  EXPECT_LT(err, kTolerance);
  // The adapter moved the model: the base alone at the same factor does not give these logits.
  auto plain = LlamaModel::open(c.model, f32_options(16.0));
  const std::vector<float> plain_logits = logits_of(*plain, tokens);
  EXPECT_GT(rel_err(plain_logits.data(), want.as<float>(), want.numel()), 1e-3);
}

TEST(MistralInterop, LogitsGradientsAndTrainLossEqualTransformersWithinTheWindow) {
  LL_REQUIRE_CLIENTS();
  LL_REQUIRE_SHARED_DATA();
  Case c;
  ASSERT_TRUE(c.make("mistral", 64));  // sliding_window 64: every query sees the whole window
  expect_logits_equal(c);
  expect_gradients_equal(c);
  expect_train_loss_equal(c);
}

// Sliding-window attention is not implemented: what stays inside the window of 64 runs (S²-Attn groups
// of 64 at context 256, prompts up to 64 tokens), what would attend past it is refused with exit 2 naming
// config.json and sliding_window, before anything is written.
TEST(MistralInterop, RefusesWhatWouldAttendPastTheSlidingWindow) {
  LL_REQUIRE_CLIENTS();
  LL_REQUIRE_SHARED_DATA();
  Case c;
  ASSERT_TRUE(c.make("mistral", 8, 256));
  const std::string config = c.model + "/config.json";
  auto expect_refused = [&](const test::CliResult& r, const std::string& what) {
    EXPECT_EQ(r.status, 2) << what << ": " << r.err;
    for (const std::string& part : {config, std::string("sliding_window"), std::string("64")})
      EXPECT_NE(r.err.find(part), std::string::npos) << what << ": " << r.err;
  };
  const std::string data = c.dir.file("tokens_long.bin");
  expect_refused(test::run_cli({"eval", "--model", c.model, "--data", data, "--context", "64,128"}), "eval 128");
  const std::string refused_run = c.dir.file("refused");
  expect_refused(test::run_cli({"train", "--model", c.model, "--data", data, "--context", "256", "--out", refused_run,
                                "--full-attn", "--max-steps", "1"}),
                 "train --full-attn 256");
  EXPECT_FALSE(fs::exists(refused_run));
  expect_refused(test::run_cli({"train", "--model", c.model, "--data", data, "--context", "256", "--out", refused_run,
                                "--s2-group", "128", "--max-steps", "1"}),
                 "train S2 group 128");
  // BOS + 65 new tokens: the last is sampled from 65 positions.
  expect_refused(test::run_cli({"generate", "--model", c.model, "--prompt", "", "--greedy", "-n", "65"}),
                 "generate 1 + 65 tokens");

  const test::CliResult eval = test::run_cli({"eval", "--model", c.model, "--data", data, "--context", "64",
                                              "--protocol", "non-overlapping"});
  EXPECT_EQ(eval.status, 0) << eval.err;
  const test::CliResult gen = test::run_cli({"generate", "--model", c.model, "--prompt", "", "--greedy", "-n", "64"});
  EXPECT_EQ(gen.status, 0) << gen.err;
  // S²-Attn at 256 with its default ratio 1/4: groups of 64, each inside the window.
  const json step = train_one_step(c, data, 256, c.dir.file("s2"), {});
  EXPECT_EQ(step["step"], 1);
  EXPECT_TRUE(std::isfinite(step["loss"].get<double>()));
}

TEST(Qwen2Interop, LogitsGradientsAndTrainLossEqualTransformers) {
  LL_REQUIRE_CLIENTS();
  LL_REQUIRE_SHARED_DATA();
  Case c;
  ASSERT_TRUE(c.make("qwen2", 96));
  auto model = LlamaModel::open(c.model, f32_options());
  EXPECT_TRUE(model->config().qkv_bias && model->config().tie_word_embeddings);
  expect_logits_equal(c);
  expect_gradients_equal(c);
  expect_train_loss_equal(c);
  // LoRA+ (LongLoRA's default: LoRA on q/k/v/o, embed and norms trained) leaves the biases frozen, as PEFT does.
  model->make_trainable(TrainableOptions{});
  for (const NamedParam& p : model->trainable_params())
    EXPECT_EQ(p.name.find(".bias"), std::string::npos) << p.name;
}

// A LoRA+ run merged: the directory keeps model_type qwen2, Qwen2ForCausalLM, the tied embedding and
// the biases, and transformers loads it with longlora's logits. GGUF export refuses the family.
TEST(Qwen2Interop, MergeKeepsTheFamilyAndItsBiases) {
  LL_REQUIRE_CLIENTS();
  LL_REQUIRE_SHARED_DATA();
  Case c;
  ASSERT_TRUE(c.make("qwen2", 96));
  const std::string run = c.dir.file("run"), merged = c.dir.file("merged");
  train_one_step(c, c.dir.file("tokens.bin"), 96, run, {"--full-attn", "--lr", "1e-2", "--warmup-steps", "0"});
  const test::CliResult m = test::run_cli({"merge", "--model", c.model, "--adapter", run, "--out", merged});
  ASSERT_EQ(m.status, 0) << m.err;
  const json config = read_json_file(merged + "/config.json");
  EXPECT_EQ(config["model_type"], "qwen2");
  EXPECT_EQ(config["architectures"], json({"Qwen2ForCausalLM"}));
  EXPECT_EQ(config["tie_word_embeddings"], true);
  EXPECT_EQ(config["use_sliding_window"], false);
  const TensorStore weights = TensorStore::open_hf_dir(merged);
  EXPECT_TRUE(weights.has("model.layers.1.self_attn.v_proj.bias"));
  EXPECT_FALSE(weights.has("lm_head.weight"));

  std::string out;
  ASSERT_TRUE(test::run_client("families.py", {"logits", merged, c.dir.file("tokens.bin"),
                                               c.dir.file("merged_logits.safetensors")}, &out));
  EXPECT_NE(out.find("loaded as Qwen2ForCausalLM"), std::string::npos) << out;
  const TensorStore merged_store = TensorStore::open_file(c.dir.file("merged_logits.safetensors"));
  const Tensor want = merged_store.get("logits");
  auto base = LlamaModel::open(c.model, f32_options());
  apply_adapter(*base, locate_adapter(run));
  const std::vector<float> got = logits_of(*base, c.tokens);
  EXPECT_LT(rel_err(got.data(), want.as<float>(), want.numel()), kTolerance);
  const TensorStore store = c.store();
  const Tensor before = store.get("logits");  // the run changed the model
  EXPECT_GT(rel_err(got.data(), before.as<float>(), before.numel()), 1e-3);

  // --lora-only: past the refusal of trained embed/norm in an adapter GGUF, to the family's.
  const test::CliResult gguf = test::run_cli({"export", "--adapter", run, "--model", c.model, "--gguf",
                                              c.dir.file("adapter.gguf"), "--lora-only"});
  EXPECT_EQ(gguf.status, 2);
  EXPECT_NE(gguf.err.find("GGUF export supports LLaMA models only"), std::string::npos) << gguf.err;
  EXPECT_NE(gguf.err.find("qwen2"), std::string::npos) << gguf.err;
  EXPECT_FALSE(fs::exists(c.dir.file("adapter.gguf")));
}

TEST(LlamaBiasInterop, LogitsGradientsAndTrainLossEqualTransformers) {
  LL_REQUIRE_CLIENTS();
  LL_REQUIRE_SHARED_DATA();
  Case c;
  ASSERT_TRUE(c.make("llama-bias", 48));  // attention_bias: q, k, v and o carry biases
  expect_logits_equal(c);
  expect_gradients_equal(c);
  expect_train_loss_equal(c);
}

}  // namespace
}  // namespace ll
