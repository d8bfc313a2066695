// Data races in the threaded kernels, checked by their effect: a training run (S²-Attn flash
// attention forward and backward, GEMMs, norms, AdamW) repeated with the same thread count must give
// the same bits every time, and runs with 1, 2 and 3 threads must agree to rounding (the GEMMs
// split their sums by thread count, so only the last bits may differ). A race shows up as a
// repeat that differs. Small-work threading is on (core/threads.h), so this tiny model takes every
// threaded path that a real one does; the ThreadSanitizer CI step (scripts/ci-tsan.sh) runs this
// test too.
#include <gtest/gtest.h>

#include <cmath>

#include "core/threads.h"
#include "small_tokenizer.h"
#include "support/test_support.h"
#include "train/pretrain_data.h"
#include "train/trainer.h"
#include "unit/reliability/reliability_fixture.h"

namespace ll {
namespace {

// The trained parameters after `steps` updates with `threads` threads, concatenated.
std::vector<float> train_with_threads(const TrainOptions& options, const std::string& run_dir, int threads) {
  set_num_threads(threads);
  TrainOptions o = options;
  auto model = open_training_model(o);
  PretrainDataOptions d;
  d.context = o.context;
  d.seed = o.seed;
  auto data = open_pretrain_data(o.data, fuzz::small_tokenizer(), d);
  Trainer trainer(*model, *data, o, run_dir);
  trainer.set_progress_output(nullptr);
  trainer.start_new_run();
  trainer.train();
  std::vector<float> values;
  for (const NamedParam& p : model->trainable_params()) values.insert(values.end(), p.param->data(), p.param->data() + p.param->value.numel());
  set_num_threads(1);
  return values;
}

// Small-work threading for one test's duration.
struct SmallWorkThreading {
  SmallWorkThreading() { set_thread_small_work(true); }
  ~SmallWorkThreading() { set_thread_small_work(false); }
};

TEST(ThreadDeterminism, RepeatsAreBitIdenticalAndThreadCountsAgree) {
  const SmallWorkThreading threaded;
  test::TempDir dir;
  test::write_tiny_model(dir.file("model"));
  test::write_random_tokens(dir.file("tokens.bin"), 3000, 17);
  TrainOptions o;
  o.model = dir.file("model");
  o.data = dir.file("tokens.bin");
  o.dtype = "f32";
  o.context = 96;  // S² groups of 24: shifted and unshifted segments, tiles cut mid-group
  o.batch_size = 2;
  o.grad_accum = 2;
  o.max_steps = 3;
  o.warmup_steps = 1;
  o.lr = 1e-3;
  o.lora_dropout = 0.1;
  o.trainable = {"embed", "norm"};

  std::vector<float> reference;
  int run = 0;
  for (int threads : {1, 2, 3}) {
    const std::vector<float> first = train_with_threads(o, dir.file("run" + std::to_string(run++)), threads);
    for (int repeat = 0; repeat < 2; ++repeat) {
      const std::vector<float> again = train_with_threads(o, dir.file("run" + std::to_string(run++)), threads);
      ASSERT_EQ(again.size(), first.size());
      size_t differing = 0;
      for (size_t i = 0; i < first.size(); ++i) differing += first[i] != again[i];
      EXPECT_EQ(differing, 0u) << threads << " threads, repeat " << repeat
                               << ": a repeated run differs, so some threaded kernel races";
    }
    if (reference.empty()) {
      reference = first;
      continue;
    }
    double worst = 0;
    for (size_t i = 0; i < first.size(); ++i)
      worst = std::max(worst, std::abs(static_cast<double>(first[i]) - reference[i]) / (std::abs(reference[i]) + 1e-3));
    EXPECT_LT(worst, 1e-3) << threads << " threads vs 1: beyond rounding";
  }
}

}  // namespace
}  // namespace ll
