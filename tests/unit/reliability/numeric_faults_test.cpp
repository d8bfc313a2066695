// Numeric faults in training: a NaN or Inf in a gradient (injected by the data source into one
// named tensor) stops the run naming the tensor and layer (--on-nan stop) or discards the update
// (--on-nan skip, counted in metrics.jsonl, and resumable bit for bit); no checkpoint or output
// ever holds a non-finite value.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <sstream>

#include "core/error.h"
#include "formats/safetensors.h"
#include "small_tokenizer.h"
#include "support/test_support.h"
#include "train/numeric_faults.h"
#include "train/outputs.h"
#include "train/pretrain_data.h"
#include "train/run_checkpoint.h"
#include "train/trainer.h"
#include "unit/reliability/reliability_fixture.h"

namespace ll {
namespace {

namespace fs = std::filesystem;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr const char* kPoisoned = "base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight";

// Pre-training rows from a token file; on the chosen optimizer updates' last micro-batch it puts
// `value` into one element of the gradient of `tensor` (backward then adds to it), as an
// overflow inside that tensor's backward would.
class PoisoningSource : public BatchSource {
 public:
  PoisoningSource(std::unique_ptr<BatchSource> inner, int64_t grad_accum)
      : inner_(std::move(inner)), grad_accum_(grad_accum) {}
  void poison(Param* target, float value, std::vector<int64_t> attempts) {
    target_ = target;
    value_ = value;
    attempts_ = std::move(attempts);
  }
  TrainBatch next(int64_t batch_size) override {
    const int64_t attempt = calls_ / grad_accum_ + 1;
    const bool last_micro_batch = calls_ % grad_accum_ == grad_accum_ - 1;
    ++calls_;
    if (target_ && last_micro_batch && std::count(attempts_.begin(), attempts_.end(), attempt))
      target_->grad_data()[target_->grad.numel() / 2] = value_;
    return inner_->next(batch_size);
  }
  nlohmann::json cursor() const override { return inner_->cursor(); }
  void restore(const nlohmann::json& cursor) override { inner_->restore(cursor); }
  int64_t rows_per_epoch() const override { return inner_->rows_per_epoch(); }
  int64_t tokens_per_epoch() const override { return inner_->tokens_per_epoch(); }
  std::string describe() const override { return inner_->describe(); }

 private:
  std::unique_ptr<BatchSource> inner_;
  int64_t grad_accum_;
  int64_t calls_ = 0;  // attempts are counted from this source's creation
  Param* target_ = nullptr;
  float value_ = 0;
  std::vector<int64_t> attempts_;
};

struct TrainRun {
  std::unique_ptr<LlamaModel> model;
  std::unique_ptr<PoisoningSource> data;
  std::unique_ptr<Trainer> trainer;
  std::vector<StepRecord> records;

  TrainRun(TrainOptions options, const std::string& run_dir, OnNan policy) {
    model = open_training_model(options);
    PretrainDataOptions d;
    d.context = options.context;
    d.seed = options.seed;
    data = std::make_unique<PoisoningSource>(open_pretrain_data(options.data, fuzz::small_tokenizer(), d),
                                             options.grad_accum);
    trainer = std::make_unique<Trainer>(*model, *data, options, run_dir);
    trainer->set_progress_output(nullptr);
    trainer->set_on_nan(policy);
    trainer->on_step = [this](const StepRecord& r) { records.push_back(r); };
  }
  Param* param(const std::string& name) const {
    for (const NamedParam& p : model->trainable_params())
      if (p.name == name) return p.param;
    ADD_FAILURE() << "no trainable parameter " << name;
    return nullptr;
  }
  std::vector<float> values(const std::string& name) const {
    const Param* p = param(name);
    return {p->data(), p->data() + p->value.numel()};
  }
};

class NumericFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    test::write_tiny_model(dir.file("model"));
    test::write_random_tokens(dir.file("tokens.bin"), 3000, 5);
    options.model = dir.file("model");
    options.data = dir.file("tokens.bin");
    options.context = 32;
    options.batch_size = 2;
    options.grad_accum = 2;
    options.max_steps = 6;
    options.save_steps = 2;
    options.warmup_steps = 2;
    options.lr = 1e-3;
    options.lora_dropout = 0.1;
    options.threads = 1;
  }
  // Every tensor of every checkpoint of the run is finite.
  static void expect_finite_checkpoints(const std::string& run) {
    for (const std::string& c : list_checkpoints(run))
      for (const char* file : {"params.safetensors", "optimizer.safetensors"}) {
        const SafetensorsFile f(c + "/" + file);
        for (const TensorEntry& e : f.entries()) {
          const Tensor t = f.tensor(e.name);
          const float* p = static_cast<const float*>(t.data);
          EXPECT_TRUE(std::all_of(p, p + t.numel(), [](float x) { return std::isfinite(x); })) << c << " " << e.name;
        }
      }
  }
  test::TempDir dir;
  TrainOptions options;
};

TEST(NonFiniteScan, NamesTheFirstTensorTheLayerAndTheElement) {
  EXPECT_EQ(layer_of("model.layers.13.mlp.down_proj.weight"), 13);
  EXPECT_EQ(layer_of(kPoisoned), 1);
  EXPECT_EQ(layer_of("model.embed_tokens.weight"), -1);
  EXPECT_EQ(layer_of("model.layers.x.weight"), -1);

  TrainableStore store;
  const int64_t shape[] = {3, 7};
  for (const char* name : {"model.embed_tokens.weight", "model.layers.4.input_layernorm.weight", "model.norm.weight"})
    store.declare(name, shape, 2);
  store.allocate(cpu_backend());
  for (size_t p = 0; p < 3; ++p)
    for (int64_t i = 0; i < 21; ++i) store.grad(p).as<float>()[i] = 0.37f * static_cast<float>(i) - 2.1f;
  Backend& cpu = cpu_backend();
  EXPECT_FALSE(find_non_finite(cpu, store, store.grads()));
  store.grad(2).as<float>()[3] = -kInf;
  store.grad(1).as<float>()[11] = kNaN;
  const auto found = find_non_finite(cpu, store, store.grads());
  ASSERT_TRUE(found);
  EXPECT_EQ(found->tensor, "model.layers.4.input_layernorm.weight");
  EXPECT_EQ(found->layer, 4);
  EXPECT_EQ(found->element, 11);
  EXPECT_EQ(found->tensors_affected, 2);
  EXPECT_EQ(describe(*found), "model.layers.4.input_layernorm.weight (layer 4): nan at element 11; 2 of 3 tensors");
  EXPECT_FALSE(find_non_finite(cpu, store, store.values()));
  store.value(0).as<float>()[20] = kInf;
  EXPECT_EQ(find_non_finite(cpu, store, store.values())->tensor, "model.embed_tokens.weight");
  EXPECT_EQ(find_non_finite(cpu, store, store.values(), ".exp_avg")->tensor, "model.embed_tokens.weight.exp_avg");
}

TEST_F(NumericFaults, StopNamesTheTensorAndKeepsTheLastCheckpoint) {
  TrainRun run(options, dir.file("run"), OnNan::Stop);
  run.data->poison(run.param(kPoisoned), kInf, {3});
  run.trainer->start_new_run();
  try {
    run.trainer->train();
    FAIL() << "a non-finite gradient did not stop the run";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("update 3"), std::string::npos) << what;
    EXPECT_NE(what.find(std::string("non-finite gradient in ") + kPoisoned + " (layer 1): inf"), std::string::npos)
        << what;
    EXPECT_NE(what.find("--on-nan stop"), std::string::npos) << what;
    EXPECT_NE(what.find("latest checkpoint is step-2"), std::string::npos) << what;
  }
  EXPECT_EQ(run.trainer->steps_done(), 2);
  EXPECT_EQ(latest_checkpoint(dir.file("run")), checkpoint_dir(dir.file("run"), 2));
  EXPECT_FALSE(fs::exists(dir.file("run/adapter")));
  expect_finite_checkpoints(dir.file("run"));
}

TEST_F(NumericFaults, SkipDiscardsTheUpdateCountsItAndResumesBitIdentical) {
  TrainRun whole(options, dir.file("whole"), OnNan::Skip);
  whole.data->poison(whole.param(kPoisoned), kNaN, {2});
  whole.trainer->start_new_run();
  std::vector<float> before_attempt_2, after_attempt_2;
  whole.trainer->on_step = [&](const StepRecord& r) {
    whole.records.push_back(r);
    if (whole.records.size() == 1) before_attempt_2 = whole.values(kPoisoned);
    if (whole.records.size() == 2) after_attempt_2 = whole.values(kPoisoned);
  };
  EXPECT_EQ(whole.trainer->train(), Trainer::End::Finished);
  EXPECT_EQ(whole.trainer->steps_done(), 6);
  EXPECT_EQ(whole.trainer->skipped_steps(), 1);
  ASSERT_EQ(whole.records.size(), 7u);  // six updates and the discarded attempt
  EXPECT_NE(whole.records[1].non_finite.find(kPoisoned), std::string::npos) << whole.records[1].non_finite;
  EXPECT_EQ(whole.records[1].step, 2);
  EXPECT_EQ(whole.records[2].step, 2);  // the next attempt makes update 2
  EXPECT_EQ(before_attempt_2, after_attempt_2) << "a discarded update changed the parameters";

  std::istringstream metrics(test::read_file(dir.file("whole/metrics.jsonl")));
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(metrics, line);) lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_NE(lines[1]["skipped"].get<std::string>().find(kPoisoned), std::string::npos);
  EXPECT_EQ(lines[0]["skipped_steps"], 0);
  EXPECT_EQ(lines[6]["skipped_steps"], 1);
  EXPECT_FALSE(lines[2].contains("skipped"));
  expect_finite_checkpoints(dir.file("whole"));

  // The same run, stopped after update 5 (its latest checkpoint: update 4, skipped_steps 1) and
  // resumed, ends bit-identical.
  {
    TrainRun crashed(options, dir.file("resumed"), OnNan::Skip);
    crashed.data->poison(crashed.param(kPoisoned), kNaN, {2});
    crashed.trainer->on_step = [](const StepRecord& r) {
      if (r.step == 5 && r.non_finite.empty()) throw std::runtime_error("simulated crash");
    };
    crashed.trainer->start_new_run();
    EXPECT_THROW(crashed.trainer->train(), std::runtime_error);
  }
  EXPECT_EQ(LoadedCheckpoint(latest_checkpoint(dir.file("resumed"))).state().skipped_steps, 1);
  TrainRun resumed(options, dir.file("resumed"), OnNan::Skip);
  resumed.trainer->resume();
  EXPECT_EQ(resumed.trainer->steps_done(), 4);
  resumed.trainer->train();
  EXPECT_EQ(resumed.trainer->skipped_steps(), 1);
  for (const char* f : {"adapter/adapter_model.safetensors", "adapter/trainable_params.bin",
                        "checkpoints/step-6/params.safetensors", "checkpoints/step-6/optimizer.safetensors",
                        "checkpoints/step-6/state.json"})
    EXPECT_TRUE(test::read_file(dir.file("whole/") + f) == test::read_file(dir.file("resumed/") + f)) << f;
}

TEST_F(NumericFaults, SkipGivesUpAfterTooManyFaultsInARow) {
  TrainRun run(options, dir.file("run"), OnNan::Skip);
  std::vector<int64_t> every_attempt;
  for (int64_t a = 2; a < 40; ++a) every_attempt.push_back(a);
  run.data->poison(run.param(kPoisoned), kNaN, every_attempt);
  run.trainer->start_new_run();
  try {
    run.trainer->train();
    FAIL() << "endless non-finite updates did not stop the run";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(std::to_string(Trainer::kMaxConsecutiveSkips + 1) + " updates in a row"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(run.trainer->steps_done(), 1);
  EXPECT_EQ(run.records.size(), static_cast<size_t>(1 + Trainer::kMaxConsecutiveSkips));
}

TEST_F(NumericFaults, NoCheckpointOrOutputHoldsANonFiniteValue) {
  TrainRun run(options, dir.file("run"), OnNan::Stop);
  run.trainer->start_new_run();
  run.trainer->train();
  Param* p = run.param("model.layers.0.input_layernorm.weight");
  p->value.as<float>()[5] = kNaN;
  AdamWOptimizer optimizer(run.model->backend(), run.model->store(), AdamWSettings{});
  CheckpointState state;
  state.step = 7;
  try {
    save_run_checkpoint(dir.file("run"), state, optimizer, 2);
    FAIL() << "a NaN parameter was saved";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("model.layers.0.input_layernorm.weight (layer 0): nan at element 5"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(latest_checkpoint(dir.file("run")), checkpoint_dir(dir.file("run"), 6));
  EXPECT_FALSE(fs::exists(dir.file("run/checkpoints/.partial-step-7")));

  const std::string adapter_before = test::read_file(dir.file("run/adapter/adapter_model.safetensors"));
  EXPECT_THROW(write_run_outputs(dir.file("run"), *run.model, run.trainer->options()), InputError);
  EXPECT_EQ(test::read_file(dir.file("run/adapter/adapter_model.safetensors")), adapter_before);
}

}  // namespace
}  // namespace ll
