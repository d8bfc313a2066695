// `longlora train` end to end on a tiny random LLaMA (with the stories260K tokenizer) and Austen
// tokens: outputs, a run killed with SIGKILL and resumed (bit-identical to an uninterrupted run),
// and bad input (exit 2, one clear message, nothing in RUN overwritten).
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include "support/test_support.h"
#include "unit/train/train_fixture.h"

extern char** environ;

namespace ll {
namespace {

namespace fs = std::filesystem;

std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const std::string& f : test::files_under(dir)) files[f] = test::read_file(dir + "/" + f);
  return files;
}

class TrainCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (test::shared_data_dir().empty()) GTEST_SKIP() << "../shared/data not found: the CLI needs its tokenizer";
    test::write_tiny_llama(dir.file("model"));
    test::write_u16_tokens(dir.file("austen.bin"), test::austen_tokens(20'000));
  }
  // The command line of a short run into `run`, plus `extra` flags.
  std::vector<std::string> train_args(const std::string& run, std::vector<std::string> extra = {}) const {
    std::vector<std::string> a = {"train",          "--model",       dir.file("model"), "--data", dir.file("austen.bin"),
                                  "--out",          run,             "--context",       "64",     "--batch-size",
                                  "2",              "--grad-accum",  "2",               "--lr",   "1e-3",
                                  "--warmup-steps", "3",             "--lora-dropout",  "0.05",   "--threads",
                                  "1"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  // Runs longlora and expects exit status 2 with `needle` in its error message.
  test::CliResult expect_refused(const std::vector<std::string>& args, const std::string& needle) {
    test::CliResult r = test::run_cli(args);
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find("longlora: error: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << "message lacks '" << needle << "': " << r.err;
    return r;
  }
  test::TempDir dir;
};

TEST_F(TrainCli, WritesAdapterMetricsAndSettings) {
  const auto r = test::run_cli(train_args(dir.file("run"), {"--max-steps", "3", "--save-steps", "2"}));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("lr-scheduler"), std::string::npos) << "effective settings are printed at start";
  EXPECT_NE(r.err.find("step 3/3"), std::string::npos) << r.err;
  for (const char* f :
       {"adapter/adapter_config.json", "adapter/adapter_model.safetensors", "adapter/trainable_params.bin",
        "train_config.json", "metrics.jsonl", "checkpoints/step-2/state.json", "checkpoints/step-3/params.safetensors"})
    EXPECT_TRUE(fs::exists(dir.file("run/") + f)) << f;
  const auto config = nlohmann::json::parse(test::read_file(dir.file("run/train_config.json")));
  EXPECT_EQ(config["options"]["context"], 64);
  EXPECT_EQ(config["options"]["dtype"], "bf16");
  EXPECT_EQ(config["options"]["model"], dir.file("model"));
  EXPECT_EQ(config["options"]["threads"], 1);

  // Resuming the finished run with another thread count: allowed, with a note that the bits differ.
  const auto again = test::run_cli({"train", "--resume", dir.file("run"), "--threads", "2"});
  EXPECT_EQ(again.status, 0) << again.err;
  EXPECT_NE(again.err.find("the run used 1 threads, this process 2"), std::string::npos) << again.err;
}

// Starts longlora with `args` in the background (output discarded); returns its pid.
pid_t spawn_cli(const std::vector<std::string>& args) {
  std::vector<std::string> argv_s = {test::binary_dir() + "/longlora"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

TEST_F(TrainCli, KilledAfterACheckpointAndResumedEndsBitIdentical) {
  const std::vector<std::string> schedule = {"--max-steps", "40", "--save-steps", "3"};
  const auto whole = test::run_cli(train_args(dir.file("whole"), schedule));
  ASSERT_EQ(whole.status, 0) << whole.err;

  // SIGKILL as soon as the checkpoint of step 3 is complete.
  const pid_t pid = spawn_cli(train_args(dir.file("killed"), schedule));
  ASSERT_GT(pid, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(dir.file("killed/checkpoints/step-3")) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run ended before it could be killed";
  ASSERT_FALSE(fs::exists(dir.file("killed/adapter")));

  // Every option, the thread count included, comes from the run.
  const auto resumed = test::run_cli({"train", "--resume", dir.file("killed")});
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("continuing after update"), std::string::npos) << resumed.err;
  for (const char* f :
       {"adapter/adapter_model.safetensors", "adapter/adapter_config.json", "adapter/trainable_params.bin",
        "checkpoints/step-40/params.safetensors", "checkpoints/step-40/optimizer.safetensors",
        "checkpoints/step-40/state.json", "train_config.json"}) {
    ASSERT_TRUE(fs::exists(dir.file("killed/") + f)) << f;
    EXPECT_TRUE(test::read_file(dir.file("whole/") + f) == test::read_file(dir.file("killed/") + f)) << f << " differs";
  }
  EXPECT_EQ(test::files_under(dir.file("whole")), test::files_under(dir.file("killed")));
}

TEST_F(TrainCli, ImpossibleOptionsAreRefused) {
  expect_refused(train_args(dir.file("run"), {"--batch-size", "0"}), "--batch-size");
  expect_refused(train_args(dir.file("run"), {"--context", "1"}), "--context");
  expect_refused(train_args(dir.file("run"), {"--lr-scheduler", "step"}), "--lr-scheduler");
  expect_refused(train_args(dir.file("run"), {"--s2-variant", "wrap"}), "--s2-variant");
  expect_refused(train_args(dir.file("run"), {"--lora-targets", "q_proj,attn_q"}), "attn_q");
  expect_refused(train_args(dir.file("run"), {"--trainable", "embed,layernorm_x"}), "layernorm_x");
  EXPECT_FALSE(fs::exists(dir.file("run")));
}

TEST_F(TrainCli, ContextLongerThanTheDataIsRefusedByTheDataLayer) {
  test::write_u16_tokens(dir.file("short.bin"), test::austen_tokens(100));
  auto args = train_args(dir.file("run"), {"--data", dir.file("short.bin"), "--context", "256"});
  expect_refused(args, "short.bin");
  EXPECT_FALSE(fs::exists(dir.file("run/checkpoints")));
}

TEST_F(TrainCli, ModelWithoutTokenizerTrainsOnTokenFilesButNotOnText) {
  fs::remove(dir.file("model/tokenizer.model"));
  const auto tokens = test::run_cli(train_args(dir.file("run"), {"--max-steps", "1"}));
  EXPECT_EQ(tokens.status, 0) << tokens.err;
  test::write_file(dir.file("story.txt"), "Once upon a time there was a little girl named Lily.\n");
  std::vector<std::string> text = train_args(dir.file("text_run"), {"--max-steps", "1"});
  text[4] = dir.file("story.txt");  // --data
  expect_refused(text, "no tokenizer: " + dir.file("model"));
}

TEST_F(TrainCli, OutputDirectoryHoldingARunNeedsResume) {
  ASSERT_EQ(test::run_cli(train_args(dir.file("run"), {"--max-steps", "1"})).status, 0);
  const auto before = snapshot(dir.file("run"));
  expect_refused(train_args(dir.file("run"), {"--max-steps", "1"}), "--resume");
  expect_refused({"train", "--resume", dir.file("run"), "--lr", "5e-4"}, "--lr");
  expect_refused({"train", "--resume", dir.file("run"), "--context", "32"}, "--context");
  expect_refused({"train", "--resume", dir.file("nothing-here")}, "nothing-here");
  EXPECT_EQ(snapshot(dir.file("run")), before);
}

TEST_F(TrainCli, CorruptCheckpointIsRefusedAndNothingIsOverwritten) {
  ASSERT_EQ(test::run_cli(train_args(dir.file("run"), {"--max-steps", "2"})).status, 0);
  const std::string checkpoint = dir.file("run/checkpoints/step-2");
  const std::string params = test::read_file(checkpoint + "/params.safetensors");
  test::write_file(checkpoint + "/params.safetensors", params.substr(0, params.size() / 2));
  auto before = snapshot(dir.file("run"));
  expect_refused({"train", "--resume", dir.file("run"), "--max-steps", "2"}, "params.safetensors");
  EXPECT_EQ(snapshot(dir.file("run")), before);

  test::write_file(checkpoint + "/params.safetensors", params);
  test::write_file(checkpoint + "/state.json", "{ not json");
  before = snapshot(dir.file("run"));
  expect_refused({"train", "--resume", dir.file("run"), "--max-steps", "2"}, "state.json");
  EXPECT_EQ(snapshot(dir.file("run")), before);
}

}  // namespace
}  // namespace ll
