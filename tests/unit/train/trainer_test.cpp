// The training loop on a tiny random LLaMA: checkpoints, crash + resume bit-identical to an
// uninterrupted run, refusal of resumes with other math, corrupt checkpoints, metrics, and the
// micro-batch loss semantics of gradient accumulation.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <sstream>

#include "core/error.h"
#include "support/test_support.h"
#include "train/run_checkpoint.h"
#include "train/trainer.h"
#include "unit/train/train_fixture.h"

namespace ll {
namespace {

namespace fs = std::filesystem;

struct SimulatedCrash {};

// One run of `options` into run_dir on fresh model and data; `crash_after` > 0 throws after that
// update (as a kill would end it: after its checkpoint, if any, and before anything else).
struct TinyRun {
  std::unique_ptr<LlamaModel> model;
  std::unique_ptr<test::TokenRows> data;
  std::unique_ptr<Trainer> trainer;
  std::vector<StepRecord> steps;

  TinyRun(TrainOptions options, const std::string& run_dir, int64_t crash_after = 0) {
    model = open_training_model(options);
    data = std::make_unique<test::TokenRows>(test::random_tokens(4000, 512, 3), options.context);
    trainer = std::make_unique<Trainer>(*model, *data, options, run_dir);
    trainer->set_progress_output(nullptr);
    trainer->on_step = [this, crash_after](const StepRecord& r) {
      steps.push_back(r);
      if (r.step == crash_after) throw SimulatedCrash{};
    };
  }
};

std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const std::string& f : test::files_under(dir)) files[f] = test::read_file(dir + "/" + f);
  return files;
}

void expect_same_files(const std::string& a, const std::string& b, const std::vector<std::string>& names) {
  for (const std::string& n : names) {
    ASSERT_TRUE(fs::exists(a + "/" + n)) << n;
    EXPECT_TRUE(test::read_file(a + "/" + n) == test::read_file(b + "/" + n)) << n << " differs";
  }
}

struct ResumeCase {
  const char* name;
  bool full;
  const char* dtype;
};

class ResumeAfterCrash : public ::testing::TestWithParam<ResumeCase> {};

TEST_P(ResumeAfterCrash, EndsBitIdenticalToAnUninterruptedRun) {
  test::TempDir dir;
  const ResumeCase c = GetParam();
  test::write_tiny_llama(dir.file("model"));
  TrainOptions o = test::tiny_train_options(dir.file("model"));
  o.full = c.full;
  o.dtype = c.dtype;

  TinyRun whole(o, dir.file("whole"));
  whole.trainer->start_new_run();
  whole.trainer->train();
  ASSERT_EQ(whole.steps.size(), 6u);

  {
    TinyRun crashed(o, dir.file("resumed"), /*crash_after=*/3);
    crashed.trainer->start_new_run();
    EXPECT_THROW(crashed.trainer->train(), SimulatedCrash);
  }
  EXPECT_EQ(latest_checkpoint(dir.file("resumed")), checkpoint_dir(dir.file("resumed"), 2));
  EXPECT_FALSE(fs::exists(dir.file("resumed/adapter")));
  // What a save killed halfway leaves: never read, and cleared by the next save.
  fs::create_directories(dir.file("resumed/checkpoints/.partial-step-4"));
  test::write_file(dir.file("resumed/checkpoints/.partial-step-4/params.safetensors"), "half a file");
  ASSERT_TRUE(fs::exists(dir.file("resumed/checkpoints/.partial-step-4/params.safetensors")));
  EXPECT_EQ(latest_checkpoint(dir.file("resumed")), checkpoint_dir(dir.file("resumed"), 2));
  {
    TinyRun resumed(o, dir.file("resumed"));
    resumed.trainer->resume();
    EXPECT_EQ(resumed.trainer->steps_done(), 2);
    resumed.trainer->train();
    EXPECT_EQ(resumed.steps.front().step, 3);
    for (size_t i = 0; i < resumed.steps.size(); ++i) {
      EXPECT_EQ(resumed.steps[i].loss, whole.steps[i + 2].loss) << "step " << i + 3;
      EXPECT_EQ(resumed.steps[i].grad_norm, whole.steps[i + 2].grad_norm) << "step " << i + 3;
    }
  }

  // Outputs and the final checkpoint, byte for byte (tensor files, headers, state).
  const std::vector<std::string> outputs =
      c.full ? std::vector<std::string>{"model/model.safetensors", "model/config.json", "model/tokenizer.model"}
             : std::vector<std::string>{"adapter/adapter_model.safetensors", "adapter/adapter_config.json",
                                        "adapter/trainable_params.bin"};
  expect_same_files(dir.file("whole"), dir.file("resumed"), outputs);
  expect_same_files(dir.file("whole"), dir.file("resumed"),
                    {"checkpoints/step-6/params.safetensors", "checkpoints/step-6/optimizer.safetensors",
                     "checkpoints/step-6/state.json", "checkpoints/step-4/params.safetensors"});
  EXPECT_FALSE(fs::exists(dir.file("resumed/checkpoints/.partial-step-4")));
  // The killed run's step 3 was dropped from the metrics and redone.
  std::istringstream metrics(test::read_file(dir.file("resumed/metrics.jsonl")));
  int64_t expected_step = 1;
  for (std::string line; std::getline(metrics, line); ++expected_step)
    EXPECT_EQ(nlohmann::json::parse(line)["step"].get<int64_t>(), expected_step);
  EXPECT_EQ(expected_step, 7);
}

INSTANTIATE_TEST_SUITE_P(Runs, ResumeAfterCrash,
                         ::testing::Values(ResumeCase{"lora_plus_bf16", false, "bf16"}, ResumeCase{"full_f32", true, "f32"}),
                         [](const ::testing::TestParamInfo<ResumeCase>& info) { return std::string(info.param.name); });

class TrainerRun : public ::testing::Test {
 protected:
  void SetUp() override {
    test::write_tiny_llama(dir.file("model"));
    options = test::tiny_train_options(dir.file("model"));
  }
  test::TempDir dir;
  TrainOptions options;
};

TEST_F(TrainerRun, KeepsTheLastTwoCheckpointsAndIgnoresPartialOnes) {
  TinyRun run(options, dir.file("run"));
  run.trainer->start_new_run();
  run.trainer->train();
  const auto kept = list_checkpoints(dir.file("run"));
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0], checkpoint_dir(dir.file("run"), 4));
  EXPECT_EQ(kept[1], checkpoint_dir(dir.file("run"), 6));
  // What a killed save leaves, and names that are not checkpoints, are never taken for one.
  fs::create_directories(dir.file("run/checkpoints/.partial-step-8"));
  fs::create_directories(dir.file("run/checkpoints/step-9x"));
  fs::create_directories(dir.file("run/checkpoints/step-"));
  EXPECT_EQ(latest_checkpoint(dir.file("run")), checkpoint_dir(dir.file("run"), 6));
}

TEST_F(TrainerRun, MetricsFollowTheScheduleAndLossIsFinite) {
  TinyRun run(options, dir.file("run"));
  run.trainer->start_new_run();
  run.trainer->train();
  std::istringstream metrics(test::read_file(dir.file("run/metrics.jsonl")));
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(metrics, line);) lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), 6u);
  // Warm-up 2: the first update has lr 0 (as HF Trainer), the second half the peak, then the peak.
  const double want_lr[] = {0.0, 0.5e-3, 1e-3, 1e-3, 1e-3, 1e-3};
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i]["step"].get<int64_t>(), static_cast<int64_t>(i + 1));
    EXPECT_DOUBLE_EQ(lines[i]["lr"].get<double>(), want_lr[i]);
    EXPECT_TRUE(std::isfinite(lines[i]["loss"].get<double>()));
    EXPECT_GT(lines[i]["grad_norm"].get<double>(), 0);
    EXPECT_EQ(lines[i]["tokens"].get<int64_t>(), 2 * 2 * 32);
    EXPECT_EQ(lines[i]["loss_tokens"].get<int64_t>(), 2 * 2 * 31);
    EXPECT_GT(lines[i]["tokens_per_s"].get<double>(), 0);
    EXPECT_GT(lines[i]["peak_rss_mb"].get<double>(), 0);
  }
  const auto config = nlohmann::json::parse(test::read_file(dir.file("run/train_config.json")));
  EXPECT_EQ(config["options"], train_options_to_json(run.trainer->options()));
  EXPECT_EQ(config["effective"]["trainable_tensors"].get<int64_t>(), run.trainer->trainable_tensors());
}

TEST_F(TrainerRun, AccumulatedMicroBatchesAverageTheirMeanLosses) {
  // Batch 2 × 1 micro-batch and batch 1 × 2 micro-batches see the same rows with the same
  // number of loss tokens each: the step loss (mean of micro-batch means) and the gradient
  // (Σ over micro-batches of grad(mean) / accum) must agree.
  options.max_steps = 1;
  options.lora_dropout = 0;
  options.dtype = "f32";
  TrainOptions two_micro = options;
  options.batch_size = 2;
  options.grad_accum = 1;
  two_micro.batch_size = 1;
  two_micro.grad_accum = 2;
  TinyRun one(options, dir.file("one")), two(two_micro, dir.file("two"));
  one.trainer->start_new_run();
  one.trainer->train();
  two.trainer->start_new_run();
  two.trainer->train();
  EXPECT_NEAR(one.steps[0].loss, two.steps[0].loss, 1e-6 * one.steps[0].loss);
  EXPECT_NEAR(one.steps[0].grad_norm, two.steps[0].grad_norm, 1e-5 * one.steps[0].grad_norm);
}

TEST_F(TrainerRun, GradientCheckpointingDoesNotChangeTheResult) {
  // Why --no-checkpointing and --recompute-attention may differ on --resume: the recomputed forward
  // is the same computation.
  options.max_steps = 2;
  options.save_steps = 2;
  TrainOptions without = options, inputs_only = options;
  without.checkpointing = false;
  inputs_only.recompute_attention = true;
  TinyRun a(options, dir.file("a")), b(without, dir.file("b")), c(inputs_only, dir.file("c"));
  for (TinyRun* run : {&a, &b, &c}) {
    run->trainer->start_new_run();
    run->trainer->train();
  }
  for (const char* other : {"b", "c"})
    expect_same_files(dir.file("a"), dir.file(other),
                      {"adapter/adapter_model.safetensors", "adapter/trainable_params.bin",
                       "checkpoints/step-2/optimizer.safetensors"});
}

TEST_F(TrainerRun, ResumeRefusesOtherMathAndAcceptsOtherCheckpointing) {
  {
    TinyRun run(options, dir.file("run"), /*crash_after=*/2);
    run.trainer->start_new_run();
    EXPECT_THROW(run.trainer->train(), SimulatedCrash);
  }
  const auto before = snapshot(dir.file("run"));
  TrainOptions other = options;
  other.lr = 2e-3;
  {
    TinyRun run(other, dir.file("run"));
    try {
      run.trainer->resume();
      ADD_FAILURE() << "resume with another --lr accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("--lr"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(snapshot(dir.file("run")), before) << "a refused resume changed the run directory";
  TrainOptions same_math = options;
  same_math.checkpointing = false;
  same_math.save_steps = 3;
  same_math.threads = 1;
  TinyRun run(same_math, dir.file("run"));
  run.trainer->resume();
  EXPECT_EQ(run.trainer->steps_done(), 2);
}

TEST_F(TrainerRun, NewRunRefusesADirectoryThatHoldsARun) {
  {
    TinyRun run(options, dir.file("run"));
    run.trainer->start_new_run();
  }
  TinyRun again(options, dir.file("run"));
  try {
    again.trainer->start_new_run();
    ADD_FAILURE() << "a second run into the same directory was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("--resume"), std::string::npos) << e.what();
  }
  fs::create_directories(dir.file("other"));
  test::write_file(dir.file("other/notes.txt"), "x");
  TinyRun elsewhere(options, dir.file("other"));
  EXPECT_THROW(elsewhere.trainer->start_new_run(), InputError);
}

// A run crashed after its checkpoint at step 2, then the checkpoint damaged in one way.
class CorruptCheckpoint : public TrainerRun {
 protected:
  void SetUp() override {
    TrainerRun::SetUp();
    TinyRun run(options, dir.file("run"), /*crash_after=*/2);
    run.trainer->start_new_run();
    EXPECT_THROW(run.trainer->train(), SimulatedCrash);
    checkpoint = checkpoint_dir(dir.file("run"), 2);
  }
  // Resuming must fail with an InputError naming `file`, leaving the run directory as it was.
  void expect_refused(const std::string& file) {
    const auto before = snapshot(dir.file("run"));
    TinyRun run(options, dir.file("run"));
    try {
      run.trainer->resume();
      ADD_FAILURE() << "a corrupt checkpoint was accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
    }
    EXPECT_EQ(snapshot(dir.file("run")), before) << "the failed resume changed the run directory";
  }
  std::string checkpoint;
};

TEST_F(CorruptCheckpoint, TruncatedTensorFile) {
  const std::string path = checkpoint + "/params.safetensors";
  const std::string bytes = test::read_file(path);
  test::write_file(path, bytes.substr(0, bytes.size() - 100));
  expect_refused("params.safetensors");
}

TEST_F(CorruptCheckpoint, FlippedByteInTheOptimizerState) {
  const std::string path = checkpoint + "/optimizer.safetensors";
  std::string bytes = test::read_file(path);
  bytes[bytes.size() - 7] ^= 0x10;
  test::write_file(path, bytes);
  expect_refused("optimizer.safetensors");
}

TEST_F(CorruptCheckpoint, StateThatIsNotJson) {
  test::write_file(checkpoint + "/state.json", "{\"format\": \"longlora-train-checkpoint\", \"step\": ");
  expect_refused("state.json");
}

TEST_F(CorruptCheckpoint, MissingStateFile) {
  fs::remove(checkpoint + "/state.json");
  expect_refused("state.json");
}

TEST_F(CorruptCheckpoint, ParametersOfAnotherShape) {
  // A consistent checkpoint of another model (LoRA rank 4): same names, other shapes.
  test::TempDir other;
  TrainOptions r4 = options;
  r4.lora_r = 4;
  {
    TinyRun run(r4, other.file("run"), /*crash_after=*/2);
    run.trainer->start_new_run();
    EXPECT_THROW(run.trainer->train(), SimulatedCrash);
  }
  for (const char* f : {"params.safetensors", "optimizer.safetensors"})
    fs::copy_file(checkpoint_dir(other.file("run"), 2) + "/" + f, checkpoint + "/" + f,
                  fs::copy_options::overwrite_existing);
  // Rewrite the checksums so that only the shapes are wrong.
  auto state = nlohmann::json::parse(test::read_file(checkpoint + "/state.json"));
  state["files"] = nlohmann::json::parse(test::read_file(checkpoint_dir(other.file("run"), 2) + "/state.json"))["files"];
  test::write_file(checkpoint + "/state.json", state.dump());
  expect_refused("params.safetensors");
}

}  // namespace
}  // namespace ll
