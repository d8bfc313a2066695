// Full disks and unwritable output directories: a run that cannot fit is refused before training
// with the space it needs, a write that fails halfway (a file-size limit standing in for ENOSPC)
// leaves the previous checkpoint intact and says so, and an unwritable --out gives one clear
// error, never a crash or an "internal error".
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "support/test_support.h"
#include "train/run_checkpoint.h"
#include "unit/reliability/reliability_fixture.h"

namespace ll {
namespace {

namespace fs = std::filesystem;

class DiskFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    test::write_tiny_model(dir.file("model"));
    test::write_random_tokens(dir.file("tokens.bin"), 4000, 13);
  }
  std::vector<std::string> new_run(const std::string& run) const {
    return {"train",     "--model",     dir.file("model"), "--data",       dir.file("tokens.bin"), "--out", run,
            "--context", "32",          "--batch-size",    "2",            "--grad-accum",         "2",     "--lr",
            "1e-3",      "--max-steps", "12",              "--save-steps", "2",                    "--threads", "1"};
  }
  // Runs to the end; returns the exit status (-1 when killed) and fills *log.
  int run(const std::vector<std::string>& args, test::ChildOptions o, std::string* log) {
    o.log = dir.file("child.log");
    const int status = test::run_longlora(args, o);
    *log = test::read_file(o.log);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  test::TempDir dir;
};

TEST_F(DiskFaults, WriteFailingHalfwayKeepsThePreviousCheckpoint) {
  std::string log;
  ASSERT_EQ(run(new_run(dir.file("whole")), {}, &log), 0) << log;

  // A run killed once its second checkpoint is complete.
  const std::string r = dir.file("run");
  const pid_t pid = test::start_longlora(new_run(r));
  while (!fs::exists(checkpoint_dir(r, 4))) std::this_thread::sleep_for(std::chrono::microseconds(100));
  ::kill(pid, SIGKILL);
  test::wait_for(pid);
  const std::string latest = latest_checkpoint(r);
  const auto before = test::files_and_bytes(latest);

  // Resumed where no file may grow past 3/4 of params.safetensors: the next save fails inside it.
  test::ChildOptions limited;
  limited.file_size_limit = static_cast<int64_t>(fs::file_size(latest + "/params.safetensors") * 3 / 4);
  EXPECT_EQ(run({"train", "--resume", r}, limited, &log), 2) << log;
  EXPECT_NE(log.find("longlora: error: checkpoint step-"), std::string::npos) << log;
  EXPECT_NE(log.find("not saved"), std::string::npos) << log;
  EXPECT_NE(log.find("File too large"), std::string::npos) << log;
  EXPECT_NE(log.find("the latest complete checkpoint, " + fs::path(latest).filename().string() + ", is intact"),
            std::string::npos)
      << log;
  EXPECT_EQ(latest_checkpoint(r), latest);
  EXPECT_EQ(test::files_and_bytes(latest), before);
  EXPECT_NO_THROW(LoadedCheckpoint{latest});
  for (const auto& e : fs::directory_iterator(r + "/checkpoints"))
    EXPECT_EQ(e.path().filename().string().rfind(".partial-", 0), std::string::npos) << e.path();

  // With room again, the run finishes as if nothing had happened.
  ASSERT_EQ(run({"train", "--resume", r}, {}, &log), 0) << log;
  for (const char* f : {"adapter/adapter_model.safetensors", "adapter/trainable_params.bin",
                        "checkpoints/step-12/params.safetensors", "checkpoints/step-12/optimizer.safetensors"})
    EXPECT_TRUE(test::read_file(dir.file("whole/") + f) == test::read_file(r + "/" + f)) << f;
}

TEST_F(DiskFaults, FilesystemTooSmallIsRefusedBeforeTraining) {
  if (!test::can_mount_private_tmpfs()) GTEST_SKIP() << "needs root and a private mount namespace for a small tmpfs";
  fs::create_directories(dir.file("small"));
  test::ChildOptions small;
  small.tmpfs = dir.file("small");
  small.tmpfs_options = "size=256k";
  std::string log;
  EXPECT_EQ(run(new_run(dir.file("small/run")), small, &log), 2) << log;
  EXPECT_NE(log.find("small/run: needs about"), std::string::npos) << log;
  EXPECT_NE(log.find("--keep-checkpoints"), std::string::npos) << log;
  EXPECT_NE(log.find("the filesystem has"), std::string::npos) << log;
  EXPECT_EQ(log.find("step 1/"), std::string::npos) << "training started: " << log;

  // The same run where it fits.
  small.tmpfs_options = "size=16m";
  EXPECT_EQ(run(new_run(dir.file("small/run")), small, &log), 0) << log;
}

TEST_F(DiskFaults, UnwritableOutputDirectoryIsAClearError) {
  fs::create_directories(dir.file("locked"));
  test::ChildOptions o;
  if (::geteuid() == 0)
    o.as_nobody = true;  // root writes anywhere: the child runs as nobody in a directory root owns
  else
    fs::permissions(dir.file("locked"), fs::perms::owner_read | fs::perms::owner_exec);
  std::string log;
  EXPECT_EQ(run(new_run(dir.file("locked/run")), o, &log), 2) << log;
  EXPECT_NE(log.find("longlora: error: " + dir.file("locked/run")), std::string::npos) << log;
  EXPECT_NE(log.find("Permission denied"), std::string::npos) << log;
  EXPECT_EQ(log.find("internal error"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(dir.file("locked/run")));

  // An existing run whose directory became read-only: refused before any update.
  fs::permissions(dir.file("locked"), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                          fs::perms::others_read | fs::perms::others_exec);
  ASSERT_EQ(run(new_run(dir.file("locked/run")), {}, &log), 0) << log;
  fs::permissions(dir.file("locked/run"), fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                                              fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
  EXPECT_EQ(run({"train", "--resume", dir.file("locked/run")}, o, &log), 2) << log;
  EXPECT_NE(log.find("Permission denied"), std::string::npos) << log;
  EXPECT_EQ(log.find("internal error"), std::string::npos) << log;
  fs::permissions(dir.file("locked/run"), fs::perms::owner_all);
}

}  // namespace
}  // namespace ll
