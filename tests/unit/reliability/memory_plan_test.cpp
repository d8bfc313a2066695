// Memory: `longlora info` predicts the peak resident memory of `longlora train` within 10% of the
// measured peak on four configurations whose model memory dominates the process (LoRA+ with
// S²-Attn on f32 weights keeping the layer inputs only, and on f16 weights read in place with bf16
// checkpoints, --full on bf16 weights, a long context without checkpointing), and a run that cannot
// fit is refused before training with the prediction and what to change.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "core/error.h"
#include "core/threads.h"
#include "support/test_support.h"
#include "train/memory_check.h"
#include "unit/reliability/reliability_fixture.h"

namespace ll {
namespace {

namespace fs = std::filesystem;

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define LL_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LL_SANITIZED 1
#endif
#ifdef LL_SANITIZED
constexpr bool kSanitized = true;  // shadow memory and redzones: resident memory is not the plan's
#else
constexpr bool kSanitized = false;
#endif

// The bytes a figure format_bytes printed ("1000.8 MiB", "1.02 GiB").
double parse_bytes(const std::string& figure) {
  std::istringstream in(figure);
  double value = 0;
  std::string unit;
  in >> value >> unit;
  const double scale = unit == "GiB" ? 1024.0 * 1024 * 1024 : unit == "MiB" ? 1024.0 * 1024 : unit == "KiB" ? 1024.0 : 1;
  return value * scale;
}

// The training plan's total from `longlora info` output: the line "training at …: <figure>".
double planned_training_bytes(const std::string& info) {
  std::istringstream in(info);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("training at ", 0) == 0) return parse_bytes(line.substr(line.rfind(": ") + 2));
  ADD_FAILURE() << "no training plan in:\n" << info;
  return 0;
}

struct Finished {
  int status = -1;         // exit status, or 128 + the signal that ended it
  double peak_bytes = 0;   // its own peak resident set (wait4's ru_maxrss), no one else's
};

// Runs longlora to completion with stdout and stderr in `log`.
Finished run_measured(const std::vector<std::string>& args, const std::string& log) {
  const pid_t pid = test::start_longlora(args, test::log_to(log));
  int status = 0;
  rusage usage{};
  while (::wait4(pid, &status, 0, &usage) < 0) EXPECT_EQ(errno, EINTR);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
          static_cast<double>(usage.ru_maxrss) * 1024.0};
}

struct PlanCase {
  const char* name;
  std::vector<std::string> init;   // longlora init flags (model shape)
  const char* tokenizer;           // under shared data
  std::vector<std::string> train;  // longlora train flags that change memory (info takes them too)
  std::vector<std::string> train_only;
};

class MemoryPlanCases : public ::testing::TestWithParam<PlanCase> {};

TEST_P(MemoryPlanCases, InfoPredictsThePeakWithinTenPercent) {
  LL_REQUIRE_SHARED_DATA();
  if (kSanitized) GTEST_SKIP() << "a sanitizer build's resident memory includes its shadow memory";
  const auto available = available_memory();
  if (!available || available->bytes < (uint64_t{3} << 30))
    GTEST_SKIP() << "needs 3 GiB of free memory to measure the runs";
  const PlanCase& c = GetParam();
  test::TempDir dir;
  std::vector<std::string> init = {"init", "--out", dir.file("model"), "--tokenizer", test::shared_path(c.tokenizer)};
  init.insert(init.end(), c.init.begin(), c.init.end());
  ASSERT_EQ(test::run_longlora(init, test::log_to(dir.file("init.log"))), 0) << test::read_file(dir.file("init.log"));
  test::write_random_tokens(dir.file("tokens.bin"), 20000, 5);

  std::vector<std::string> info = {"info", "--model", dir.file("model"), "--threads", "2"};
  info.insert(info.end(), c.train.begin(), c.train.end());
  const test::CliResult planned = test::run_cli(info);
  ASSERT_EQ(planned.status, 0) << planned.err;
  const double predicted = planned_training_bytes(planned.out);

  std::vector<std::string> train = {"train",         "--model", dir.file("model"), "--data", dir.file("tokens.bin"),
                                    "--out",         dir.file("run"), "--max-steps", "1", "--grad-accum", "1",
                                    "--warmup-steps", "0",    "--threads",       "2"};
  train.insert(train.end(), c.train.begin(), c.train.end());
  train.insert(train.end(), c.train_only.begin(), c.train_only.end());
  const Finished run = run_measured(train, dir.file("train.log"));
  ASSERT_EQ(run.status, 0) << test::read_file(dir.file("train.log"));
  const double measured = run.peak_bytes;
  std::printf("%s: measured peak %.1f MiB, planned %.1f MiB (%+.1f%%)\n", c.name, measured / (1 << 20),
              predicted / (1 << 20), 100.0 * (predicted - measured) / measured);
  EXPECT_LE(std::abs(measured - predicted), 0.10 * measured)
      << c.name << ": measured peak " << measured / (1 << 20) << " MiB, planned " << predicted / (1 << 20)
      << " MiB\n" << planned.out;
}

INSTANTIATE_TEST_SUITE_P(
    Configs, MemoryPlanCases,
    ::testing::Values(
        // 45.6M parameters in f32, LoRA+ (embeddings and norms trained), bf16 compute, S²-Attn,
        // checkpoints of the layer inputs only (attention recomputed).
        PlanCase{"lora_s2_f32_weights_inputs_only",
                 {"--hidden", "512", "--layers", "4", "--heads", "8", "--context", "512", "--dtype", "f32"},
                 "llama2-tokenizer.model",
                 {"--context", "768", "--recompute-attention"},
                 {}},
        // The 7B path at a small shape (issue 14): 45.6M parameters in f16 that the GEMMs read in place
        // (never copied), LoRA+ with S²-Attn, bf16 compute keeping bf16 checkpoints, the MLP in two
        // chunks of rows.
        PlanCase{"lora_s2_f16_weights_bf16_checkpoints",
                 {"--hidden", "512", "--layers", "4", "--heads", "8", "--context", "256", "--dtype", "f16"},
                 "llama2-tokenizer.model",
                 {"--context", "2048"},
                 {}},
        // 31.7M parameters in bf16, every weight trained, full causal attention.
        PlanCase{"full_bf16_weights",
                 {"--hidden", "384", "--layers", "4", "--heads", "6", "--context", "256", "--dtype", "bf16"},
                 "llama2-tokenizer.model",
                 {"--context", "256", "--full"},
                 {"--full-attn"}},
        // A small vocabulary at 4096 tokens in f32 with every layer's activations kept.
        PlanCase{"long_context_no_checkpointing",
                 {"--hidden", "256", "--layers", "4", "--heads", "4", "--context", "1024", "--dtype", "f32"},
                 "stories260K-hf/tokenizer.model",
                 {"--context", "4096", "--no-checkpointing", "--dtype", "f32"},
                 {}}),
    [](const ::testing::TestParamInfo<PlanCase>& info) { return std::string(info.param.name); });

TEST(MemoryCheck, RunThatCannotFitIsRefusedBeforeTraining) {
  test::TempDir dir;
  test::write_tiny_model(dir.file("model"));
  test::write_random_tokens(dir.file("tokens.bin"), 4000, 13);
  // 2^30 tokens per row: terabytes of activations, more than any machine has. Both training
  // commands check before they read the data, and the plan's dry run holds nothing of that size
  // (it once held the rows' ids and positions: 12 GiB touched for a refusal).
  for (const std::string command : {"train", "sft"}) {
    const std::string log = dir.file(command + ".log");
    const Finished r = run_measured({command, "--model", dir.file("model"), "--data", dir.file("tokens.bin"), "--out",
                                     dir.file("run"), "--context", "1073741824", "--max-steps", "1"},
                                    log);
    const std::string err = test::read_file(log);
    EXPECT_EQ(r.status, 2) << err;
    EXPECT_NE(err.find("longlora " + command + ": this run needs about"), std::string::npos) << err;
    EXPECT_NE(err.find("is available (MemAvailable"), std::string::npos) << err;
    EXPECT_NE(err.find("lower --context 1073741824"), std::string::npos) << err;
    EXPECT_NE(err.find("--no-memory-check"), std::string::npos) << err;
    EXPECT_LT(r.peak_bytes, 512.0 * (1 << 20)) << "refusing took " << r.peak_bytes / (1 << 20) << " MiB";
    EXPECT_FALSE(fs::exists(dir.file("run"))) << "nothing is written for a refused run";
  }
}

TEST(MemoryCheck, NoMemoryCheckFlagIsAccepted) {
  test::TempDir dir;
  test::write_tiny_model(dir.file("model"));
  test::write_random_tokens(dir.file("tokens.bin"), 4000, 13);
  const test::CliResult r = test::run_cli({"train", "--model", dir.file("model"), "--data", dir.file("tokens.bin"),
                                           "--out", dir.file("run"), "--context", "32", "--max-steps", "1",
                                           "--grad-accum", "1", "--threads", "1", "--no-memory-check"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir.file("run/adapter"))) << r.err;
}

TrainOptions options_at(int64_t context) {
  TrainOptions o;
  o.context = context;
  o.threads = 2;
  return o;
}

TEST(MemoryCheck, RefusalNamesThePredictionTheMemoryAndWhatToChange) {
  LlamaConfig c;
  c.hidden_size = 64;
  c.intermediate_size = 160;
  c.vocab_size = 300;
  c.num_layers = 3;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.head_dim = 16;
  TrainOptions o = options_at(2048);
  o.batch_size = 3;
  o.checkpointing = false;
  const MemoryPlan plan = plan_training_run(c, DType::F32, Precision::F32, o);
  EXPECT_NO_THROW(check_training_memory(plan, o, {plan.total(), "test"}, "longlora train"));
  try {
    check_training_memory(plan, o, {plan.total() - 1, "a test figure"}, "longlora train");
    FAIL() << "a plan over the memory available passed";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(format_bytes(plan.total())), std::string::npos) << m;
    EXPECT_NE(m.find("(a test figure)"), std::string::npos) << m;
    EXPECT_NE(m.find("activations and gradients (arena)"), std::string::npos) << m;  // the largest part
    EXPECT_NE(m.find("--context 2048"), std::string::npos) << m;
    EXPECT_NE(m.find("--batch-size 3"), std::string::npos) << m;
    EXPECT_NE(m.find("--no-checkpointing"), std::string::npos) << m;
    EXPECT_EQ(m.find("--recompute-attention"), std::string::npos) << m;  // it needs checkpointing
  }
  o.checkpointing = true;
  const MemoryPlan checkpointed = plan_training_run(c, DType::F32, Precision::F32, o);
  try {
    check_training_memory(checkpointed, o, {checkpointed.total() - 1, "a test figure"}, "longlora train");
    FAIL() << "a plan over the memory available passed";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("pass --recompute-attention"), std::string::npos) << e.what();
  }
}

TEST(MemoryCheck, PlanGrowsWithWhatTheRunKeeps) {
  LlamaConfig c;
  c.hidden_size = 96;
  c.intermediate_size = 250;
  c.vocab_size = 1000;
  c.num_layers = 5;
  c.num_heads = 6;
  c.num_kv_heads = 3;
  c.head_dim = 16;
  auto total = [&](const TrainOptions& o) { return plan_training_run(c, DType::BF16, Precision::BF16, o).total(); };
  const TrainOptions base = options_at(3000);
  TrainOptions longer = options_at(6000), no_ckpt = base, full = base, batch = base, inputs_only = base;
  no_ckpt.checkpointing = false;
  full.full = true;
  batch.batch_size = 2;
  inputs_only.recompute_attention = true;
  EXPECT_LT(total(base), total(longer));
  EXPECT_LT(total(base), total(no_ckpt));
  EXPECT_LT(total(base), total(full));
  EXPECT_LT(total(base), total(batch));
  // --recompute-attention drops the bf16 attention outputs of every layer but the last (one [T, Hq·D]
  // each), less one layer's log-sum-exp that its recompute then holds.
  ASSERT_LT(total(inputs_only), total(base));
  EXPECT_GE(total(base) - total(inputs_only), uint64_t{3} * 3000 * 6 * 16 * 2);
  // The arena the trainer reserves is the plan's arena part.
  const MemoryPlan plan = plan_training_run(c, DType::BF16, Precision::BF16, no_ckpt);
  bool found = false;
  for (const auto& [what, bytes] : plan.parts)
    if (what == "activations and gradients (arena)") {
      found = true;
      EXPECT_EQ(bytes, training_arena_bytes(c, DType::BF16, Precision::BF16, training_shape(no_ckpt), num_threads()));
    }
  EXPECT_TRUE(found);
}

TEST(MemoryCheck, AvailableMemoryIsTheLeastOfMemAvailableAndTheCgroupsRoom) {
  test::TempDir dir;
  const std::string meminfo = dir.file("meminfo"), root = dir.file("cgroup");
  test::write_file(meminfo, "MemTotal:       16384000 kB\nMemFree:         1000 kB\nMemAvailable:    8000000 kB\n");
  fs::create_directories(root + "/memory");
  auto a = available_memory(meminfo, root);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->bytes, uint64_t{8000000} * 1024);
  EXPECT_EQ(a->source, "MemAvailable in " + meminfo);

  // cgroup v2: no limit, then a limit less its usage, inactive page cache not counted as used.
  test::write_file(root + "/memory.max", "max\n");
  EXPECT_EQ(available_memory(meminfo, root)->bytes, uint64_t{8000000} * 1024);
  test::write_file(root + "/memory.max", "3000000000\n");
  test::write_file(root + "/memory.current", "1000000000\n");
  test::write_file(root + "/memory.stat", "anon 600000000\nfile 400000000\ninactive_file 300000000\n");
  a = available_memory(meminfo, root);
  EXPECT_EQ(a->bytes, uint64_t{3000000000} - (1000000000 - 300000000));
  EXPECT_NE(a->source.find("memory.max"), std::string::npos) << a->source;

  // cgroup v1, whose "no limit" is a huge number; a real limit below v2's room wins.
  test::write_file(root + "/memory/memory.limit_in_bytes", "9223372036854771712\n");
  EXPECT_EQ(available_memory(meminfo, root)->bytes, uint64_t{2300000000});
  test::write_file(root + "/memory/memory.limit_in_bytes", "1500000000\n");
  test::write_file(root + "/memory/memory.usage_in_bytes", "500000000\n");
  test::write_file(root + "/memory/memory.stat", "cache 100\ntotal_inactive_file 100000000\n");
  a = available_memory(meminfo, root);
  EXPECT_EQ(a->bytes, uint64_t{1500000000} - 400000000);
  EXPECT_NE(a->source.find("memory.limit_in_bytes"), std::string::npos) << a->source;

  // A cgroup that uses more than its limit has no room at all.
  test::write_file(root + "/memory/memory.usage_in_bytes", "1600000000\n");
  test::write_file(root + "/memory/memory.stat", "total_inactive_file 0\n");
  EXPECT_EQ(available_memory(meminfo, root)->bytes, 0u);

  EXPECT_FALSE(available_memory(dir.file("absent"), dir.file("absent")).has_value());
}

}  // namespace
}  // namespace ll
