// `longlora train` interrupted: killed with SIGKILL at random points (during an update, during a
// checkpoint write) and resumed again and again, it ends bit-identical to an uninterrupted run, and
// every complete checkpoint it ever left verifies; SIGINT saves a checkpoint and exits 0, a second
// SIGINT quits at once without leaving anything half-written.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "support/test_support.h"
#include "train/run_checkpoint.h"
#include "unit/reliability/reliability_fixture.h"

namespace ll {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int64_t kSteps = 12;

class Interruption : public ::testing::Test {
 protected:
  void SetUp() override {
    test::write_tiny_model(dir.file("model"));
    test::write_random_tokens(dir.file("tokens.bin"), 6000, 11);
  }
  std::vector<std::string> new_run(const std::string& run) const {
    return {"train",        "--model",      dir.file("model"), "--data",          dir.file("tokens.bin"),
            "--out",        run,            "--context",       "32",              "--batch-size",
            "2",            "--grad-accum", "2",               "--max-steps",     std::to_string(kSteps),
            "--save-steps", "1",            "--lr",            "1e-3",            "--warmup-steps",
            "2",            "--lora-dropout", "0.1",           "--threads",       "1"};
  }
  static std::vector<std::string> resume(const std::string& run) { return {"train", "--resume", run}; }

  // Every complete checkpoint of the run loads and verifies (sizes and checksums of its files).
  static void expect_complete_checkpoints(const std::string& run) {
    for (const std::string& c : list_checkpoints(run)) EXPECT_NO_THROW(LoadedCheckpoint{c}) << c;
  }
  // The run's outputs and final checkpoint equal the uninterrupted run's, byte for byte.
  void expect_same_as_whole(const std::string& run) const {
    for (const std::string f :
         {"adapter/adapter_model.safetensors", "adapter/adapter_config.json", "adapter/trainable_params.bin",
          "checkpoints/step-12/params.safetensors", "checkpoints/step-12/optimizer.safetensors",
          "checkpoints/step-12/state.json"}) {
      ASSERT_TRUE(fs::exists(run + "/" + f)) << f;
      EXPECT_TRUE(test::read_file(dir.file("whole/") + f) == test::read_file(run + "/" + f)) << f << " differs";
    }
    EXPECT_EQ(test::files_under(dir.file("whole")), test::files_under(run));
  }
  void run_whole() {
    const int status = test::run_longlora(new_run(dir.file("whole")), test::log_to(dir.file("whole.log")));
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << test::read_file(dir.file("whole.log"));
  }

  test::TempDir dir;
};

// Waits until `ready` holds or the child exits; false when it exited (status in *status).
template <class Ready>
bool wait_until(pid_t pid, Ready ready, int* status) {
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (!ready() && Clock::now() < deadline) {
    if (::waitpid(pid, status, WNOHANG) == pid) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  return true;
}

bool partial_checkpoint_exists(const std::string& run) {
  std::error_code ec;
  if (!fs::is_directory(run + "/checkpoints", ec)) return false;
  for (const auto& e : fs::directory_iterator(run + "/checkpoints", ec))
    if (e.path().filename().string().rfind(".partial-", 0) == 0) return true;
  return false;
}

// The step of the run's newest complete checkpoint; 0 when it has none.
int64_t newest_step(const std::string& run) {
  const std::string latest = latest_checkpoint(run);
  if (latest.empty()) return 0;
  return std::stoll(fs::path(latest).filename().string().substr(std::string("step-").size()));
}

TEST_F(Interruption, KilledAtRandomPointsAndResumedEndsBitIdentical) {
  run_whole();
  const std::string run = dir.file("killed");
  std::mt19937 rng(2024);
  int kills = 0, during_writes = 0;
  bool started = false, finished = false;
  for (int attempt = 0; attempt < 12 && !finished; ++attempt) {
    const pid_t pid = test::start_longlora(started ? resume(run) : new_run(run), test::log_to(dir.file("attempt.log")));
    int status = 0;
    bool alive;
    if (attempt % 2 == 0) {
      // In the middle of a checkpoint write: as soon as a partial directory appears.
      alive = wait_until(pid, [&] { return partial_checkpoint_exists(run); }, &status);
    } else {
      // Anywhere: a random time after the run has reached a random update (at most two past its
      // newest checkpoint, and short of the last, however fast the machine runs the updates).
      const int64_t target = std::min<int64_t>(
          kSteps - 1, newest_step(run) + std::uniform_int_distribution<int>(0, 2)(rng));
      alive = wait_until(pid, [&] { return newest_step(run) >= target; }, &status);
      if (alive) std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 3000)(rng)));
    }
    if (alive && attempt < 10) {
      during_writes += partial_checkpoint_exists(run);
      ::kill(pid, SIGKILL);
      status = test::wait_for(pid);
    } else if (alive) {
      status = test::wait_for(pid);  // the last attempts run to the end
    }
    if (WIFSIGNALED(status)) {
      ++kills;
      ASSERT_EQ(WTERMSIG(status), SIGKILL);
    } else {
      ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << test::read_file(dir.file("attempt.log"));
      finished = fs::exists(run + "/adapter");
    }
    started = started || fs::exists(run + "/train_config.json");
    expect_complete_checkpoints(run);
  }
  ASSERT_TRUE(finished);
  EXPECT_GE(kills, 5);
  EXPECT_GE(during_writes, 1) << "no kill landed during a checkpoint write";
  expect_same_as_whole(run);
}

TEST_F(Interruption, SigintSavesACheckpointAndExitsCleanly) {
  run_whole();
  const std::string run = dir.file("interrupted");
  const pid_t pid = test::start_longlora(new_run(run), test::log_to(dir.file("interrupted.log")));
  int status = 0;
  ASSERT_TRUE(wait_until(pid, [&] { return fs::exists(checkpoint_dir(run, 2)); }, &status));
  ::kill(pid, SIGINT);
  status = test::wait_for(pid);
  const std::string log = test::read_file(dir.file("interrupted.log"));
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << log;
  EXPECT_NE(log.find("interrupted: saving a checkpoint"), std::string::npos) << log;
  EXPECT_NE(log.find("continue with --resume"), std::string::npos) << log;
  const std::string latest = latest_checkpoint(run);
  ASSERT_FALSE(latest.empty());
  const LoadedCheckpoint checkpoint(latest);
  EXPECT_LT(checkpoint.state().step, kSteps);
  EXPECT_NE(log.find("stopped after update " + std::to_string(checkpoint.state().step)), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(run + "/adapter"));
  EXPECT_FALSE(partial_checkpoint_exists(run));

  const int resumed = test::run_longlora(resume(run), test::log_to(dir.file("resumed.log")));
  ASSERT_TRUE(WIFEXITED(resumed) && WEXITSTATUS(resumed) == 0) << test::read_file(dir.file("resumed.log"));
  expect_same_as_whole(run);
}

TEST_F(Interruption, SecondSigintQuitsAtOnceLeavingOnlyCompleteCheckpoints) {
  // Longer updates than the other tests', so that the second SIGINT lands inside one.
  std::vector<std::string> args = new_run(dir.file("quit"));
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--context") args[i + 1] = "512";
    if (args[i] == "--grad-accum") args[i + 1] = "4";
    if (args[i] == "--max-steps") args[i + 1] = "3";
  }
  const std::string run = dir.file("quit");
  const pid_t pid = test::start_longlora(args, test::log_to(dir.file("quit.log")));
  int status = 0;
  ASSERT_TRUE(wait_until(pid, [&] { return fs::exists(checkpoint_dir(run, 1)); }, &status));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // into update 2
  ::kill(pid, SIGINT);
  // The second one once the first has been seen (two pending SIGINTs would merge into one).
  ASSERT_TRUE(wait_until(
      pid, [&] { return test::read_file(dir.file("quit.log")).find("interrupted: saving") != std::string::npos; },
      &status));
  ::kill(pid, SIGINT);
  status = test::wait_for(pid);
  const std::string log = test::read_file(dir.file("quit.log"));
  ASSERT_TRUE(WIFEXITED(status)) << log;
  EXPECT_EQ(WEXITSTATUS(status), 130) << log;
  EXPECT_NE(log.find("interrupted twice"), std::string::npos) << log;
  expect_complete_checkpoints(run);
  EXPECT_FALSE(fs::exists(run + "/adapter"));

  const int resumed = test::run_longlora(resume(run), test::log_to(dir.file("resumed.log")));
  ASSERT_TRUE(WIFEXITED(resumed) && WEXITSTATUS(resumed) == 0) << test::read_file(dir.file("resumed.log"));
  EXPECT_NO_THROW(LoadedCheckpoint(checkpoint_dir(run, 3)));
  EXPECT_TRUE(fs::exists(run + "/adapter/adapter_model.safetensors"));
}

}  // namespace
}  // namespace ll
