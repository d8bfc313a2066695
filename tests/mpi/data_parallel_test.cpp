// longlora train and eval over MPI ranks (mpirun; dist/communicator.h), end to end through the CLI on a
// tiny random LLaMA and Austen tokens, one thread per rank:
//   - R ranks × grad-accum A equal one process with grad-accum R·A (R = 2, 4): the losses, gradient
//     norms and final f32 parameters within the f32 summation-order tolerance below; rank 0 alone
//     prints and writes;
//   - with --full, ZeRO-1 (AdamW's moments sharded over the ranks) equals one process, and resumes
//     bit-identical;
//   - sft over 2 ranks equals one process; eval over 2 and 4 ranks gives one process's perplexity;
//   - a rank killed with SIGKILL ends the whole job promptly, and --resume on as many ranks ends
//     bit-identical to an uninterrupted run; a resume on another rank count is refused.
// Built only when CMake finds MPI (LL_MPIEXEC is its launcher). CI runs as root: Open MPI needs
// OMPI_ALLOW_RUN_AS_ROOT(_CONFIRM), set here; --oversubscribe --bind-to none let 4 ranks share 2 cores.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include "formats/safetensors.h"
#include "support/test_support.h"
#include "unit/train/train_fixture.h"

extern char** environ;

namespace ll {
namespace {

namespace fs = std::filesystem;

// The f32 summation-order tolerance of R×A against 1×(R·A). The ranks' gradients are summed in
// another order than one process accumulates them (one f32 rounding per add, ~6e-8 relative).
// AdamW's step m/(sqrt(v) + eps) maps that to ~1e-7 relative on parameters — except for an element
// whose gradient is within rounding of zero (a LoRA A entry while B is still tiny): AdamW normalises
// its rounding noise to a step of up to lr. So: every parameter within kParamTolerance, but for at
// most kLooseShare of them, which stay within lr per update. Losses (double sums of the same
// micro-batch losses) agree to ~1e-12 before the first update and ~1e-7 after.
constexpr double kParamTolerance = 1e-6;
constexpr double kLooseShare = 1e-3;
constexpr double kLossTolerance = 1e-5;  // relative

std::string quoted(const std::string& s) { return "'" + s + "'"; }

// Whether LL_MPIEXEC is Open MPI's (else MPICH's Hydra, say).
bool open_mpi() {
  static const bool is = [] {
    std::string version;
    test::run_command(quoted(LL_MPIEXEC) + " --version", &version);
    return version.find("Open MPI") != std::string::npos || version.find("OpenRTE") != std::string::npos;
  }();
  return is;
}

// mpirun's argv for `ranks` ranks of longlora with `args`.
std::vector<std::string> mpirun_argv(int ranks, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {LL_MPIEXEC};
  if (open_mpi()) argv.insert(argv.end(), {"--oversubscribe", "--bind-to", "none"});
  argv.insert(argv.end(), {"-np", std::to_string(ranks), test::binary_dir() + "/longlora"});
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

test::CliResult run_mpi(int ranks, const std::vector<std::string>& args) {
  test::TempDir tmp;
  std::string cmd;
  for (const std::string& a : mpirun_argv(ranks, args)) cmd += quoted(a) + " ";
  cmd += "</dev/null >" + quoted(tmp.file("out")) + " 2>" + quoted(tmp.file("err"));
  const int status = std::system(cmd.c_str());
  test::CliResult r;
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = test::read_file(tmp.file("out"));
  r.err = test::read_file(tmp.file("err"));
  return r;
}

// The "loss" or "grad_norm" of every line of RUN/metrics.jsonl.
std::vector<double> metric(const std::string& run, const char* key) {
  std::vector<double> values;
  std::ifstream in(run + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) values.push_back(nlohmann::json::parse(line)[key].get<double>());
  return values;
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

class MpiCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ::setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    ::setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    ::setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 1);
    // Containers without ptrace rights break the shared-memory transport's single-copy path.
    ::setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 0);
  }
  void SetUp() override {
    if (test::shared_data_dir().empty()) GTEST_SKIP() << "../shared/data not found: the CLI needs its tokenizer";
    test::write_tiny_llama(dir.file("model"));
    test::write_u16_tokens(dir.file("austen.bin"), test::austen_tokens(20'000));
  }
  std::vector<std::string> train_args(const std::string& run, int64_t grad_accum,
                                      std::vector<std::string> extra = {}) const {
    std::vector<std::string> a = {"train", "--model", dir.file("model"), "--data", dir.file("austen.bin"), "--out", run,
                                  "--context", "64", "--batch-size", "2", "--grad-accum", std::to_string(grad_accum),
                                  "--lr", "1e-3", "--warmup-steps", "2", "--lora-dropout", "0.05", "--threads", "1"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  test::TempDir dir;
};

// Expects the f32 parameters of two checkpoints (params.safetensors) to agree within the tolerance
// above, after `updates` updates at learning rate `lr`; returns the largest difference.
double expect_parameters_agree(const std::string& a_path, const std::string& b_path, double lr, int updates) {
  const SafetensorsFile a(a_path), b(b_path);
  EXPECT_EQ(a.names(), b.names());
  double worst = 0;
  int64_t loose = 0, total = 0;
  for (const std::string& name : a.names()) {
    const Tensor x = a.tensor(name), y = b.tensor(name);
    EXPECT_EQ(x.numel(), y.numel()) << name;
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double d = std::fabs(double(x.as<float>()[i]) - double(y.as<float>()[i]));
      worst = std::max(worst, d);
      loose += d > kParamTolerance;
    }
    total += x.numel();
  }
  EXPECT_LE(loose, kLooseShare * total) << loose << " of " << total << " parameters differ by more than "
                                        << kParamTolerance;
  EXPECT_LE(worst, lr * updates);
  return worst;
}

TEST_F(MpiCli, RanksTimesAccumulationEqualOneProcessAccumulatingAll) {
  const std::vector<std::string> steps = {"--max-steps", "4", "--save-steps", "4"};
  const auto one = test::run_cli(train_args(dir.file("one"), 4, steps));
  ASSERT_EQ(one.status, 0) << one.err;
  for (const int ranks : {2, 4}) {
    const std::string run = dir.file("ranks" + std::to_string(ranks));
    const auto r = run_mpi(ranks, train_args(run, 4 / ranks, steps));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(count(r.err, "new run in"), 1u) << "rank 0 alone prints: " << r.err;
    EXPECT_EQ(count(r.err, "step 4/4"), 1u) << r.err;
    const auto config = nlohmann::json::parse(test::read_file(run + "/train_config.json"));
    EXPECT_EQ(config["effective"]["ranks"], ranks);
    EXPECT_EQ(config["effective"]["tokens_per_step"], 2 * 64 * 4);

    const std::vector<double> loss = metric(run, "loss"), expected = metric(dir.file("one"), "loss");
    ASSERT_EQ(loss.size(), 4u);
    ASSERT_EQ(expected.size(), 4u);
    for (size_t i = 0; i < loss.size(); ++i)
      EXPECT_NEAR(loss[i], expected[i], kLossTolerance * expected[i]) << ranks << " ranks, update " << i + 1;
    const std::vector<double> norm = metric(run, "grad_norm"), expected_norm = metric(dir.file("one"), "grad_norm");
    for (size_t i = 0; i < norm.size(); ++i)
      EXPECT_NEAR(norm[i], expected_norm[i], kLossTolerance * expected_norm[i]) << ranks << " ranks, update " << i + 1;
    const double d = expect_parameters_agree(dir.file("one/checkpoints/step-4/params.safetensors"),
                                             run + "/checkpoints/step-4/params.safetensors", 1e-3, 4);
    EXPECT_TRUE(fs::exists(run + "/adapter/adapter_model.safetensors"));
    std::printf("%d ranks: largest parameter difference %.3g\n", ranks, d);
  }
}

TEST_F(MpiCli, Zero1ForFullEqualsOneProcessAndResumesBitIdentical) {
  auto full_args = [&](const std::string& run, int64_t grad_accum) {
    return std::vector<std::string>{"train", "--model", dir.file("model"), "--data", dir.file("austen.bin"), "--out",
                                    run, "--full", "--dtype", "f32", "--context", "64", "--batch-size", "2",
                                    "--grad-accum", std::to_string(grad_accum), "--lr", "1e-3", "--warmup-steps", "0",
                                    "--max-steps", "4", "--save-steps", "2", "--threads", "1"};
  };
  const auto one = test::run_cli(full_args(dir.file("one"), 4));
  ASSERT_EQ(one.status, 0) << one.err;
  for (const int ranks : {2, 4}) {
    const std::string run = dir.file("zero" + std::to_string(ranks));
    const auto r = run_mpi(ranks, full_args(run, 4 / ranks));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(test::read_file(run + "/train_config.json"))["effective"]["zero1"], true);
    const std::vector<double> loss = metric(run, "loss"), expected = metric(dir.file("one"), "loss");
    ASSERT_EQ(loss.size(), expected.size());
    for (size_t i = 0; i < loss.size(); ++i)
      EXPECT_NEAR(loss[i], expected[i], kLossTolerance * expected[i]) << ranks << " ranks, update " << i + 1;
    // The masters and the moments gathered from the ranks' shards, against one process's.
    for (const char* file : {"params.safetensors", "optimizer.safetensors"})
      expect_parameters_agree(dir.file("one/checkpoints/step-4/") + file, run + "/checkpoints/step-4/" + file, 1e-3, 4);
    EXPECT_TRUE(fs::exists(run + "/model/model.safetensors"));
  }
  // Resumed from step 2 on as many ranks: each takes its shard of the saved moments again, and the
  // run ends bit-identical.
  fs::copy(dir.file("zero2"), dir.file("again"), fs::copy_options::recursive);
  fs::remove_all(dir.file("again/checkpoints/step-4"));
  const auto resumed = run_mpi(2, {"train", "--resume", dir.file("again")});
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  for (const char* f : {"params.safetensors", "optimizer.safetensors", "state.json"})
    EXPECT_TRUE(test::read_file(dir.file("zero2/checkpoints/step-4/") + f) ==
                test::read_file(dir.file("again/checkpoints/step-4/") + f))
        << f << " differs";
}

TEST_F(MpiCli, SftOverRanksEqualsOneProcess) {
  // LongAlpaca examples of different lengths: every micro-batch has its own number of loss tokens,
  // each scaled by its own count, as one process scales it.
  const std::string emma = test::read_file(test::shared_path("austen/emma.txt"));
  nlohmann::json examples = nlohmann::json::array();
  for (size_t i = 0; i < 8; ++i)
    examples.push_back({{"instruction", "Continue: " + emma.substr(3000 + 700 * i, 40 + 9 * i)},
                        {"output", emma.substr(3100 + 700 * i, 90 + 37 * i)}});
  test::write_file(dir.file("sft.json"), examples.dump());
  auto sft_args = [&](const std::string& run, int64_t grad_accum) {
    return std::vector<std::string>{"sft", "--model", test::shared_path("stories260K-hf"), "--data",
                                    dir.file("sft.json"), "--out", run, "--context", "256", "--batch-size", "1", "--grad-accum",
                                    std::to_string(grad_accum), "--lr", "2e-3", "--warmup-steps", "0", "--dtype", "f32",
                                    "--max-steps", "3", "--threads", "1"};
  };
  const auto one = test::run_cli(sft_args(dir.file("one"), 2));
  ASSERT_EQ(one.status, 0) << one.err;
  const auto two = run_mpi(2, sft_args(dir.file("two"), 1));
  ASSERT_EQ(two.status, 0) << two.err;
  const std::vector<double> loss = metric(dir.file("two"), "loss"), expected = metric(dir.file("one"), "loss");
  ASSERT_EQ(loss.size(), 3u);
  ASSERT_EQ(expected.size(), 3u);
  for (size_t i = 0; i < loss.size(); ++i) EXPECT_NEAR(loss[i], expected[i], kLossTolerance * expected[i]) << i;
  expect_parameters_agree(dir.file("one/checkpoints/step-3/params.safetensors"),
                          dir.file("two/checkpoints/step-3/params.safetensors"), 2e-3, 3);
}

TEST_F(MpiCli, EvalOverRanksEqualsOneProcess) {
  auto with_json = [&](const std::string& path) {
    std::vector<std::string> a = {"eval", "--model", dir.file("model"), "--data", dir.file("austen.bin"),
                                  "--context", "64,128", "--max-windows", "13", "--threads", "1", "--json", path};
    return a;
  };
  const auto one = test::run_cli(with_json(dir.file("one.json")));
  ASSERT_EQ(one.status, 0) << one.err;
  const auto expected = nlohmann::json::parse(test::read_file(dir.file("one.json")))["results"];
  for (const int ranks : {2, 4}) {
    const std::string out = dir.file(std::to_string(ranks) + ".json");
    const auto r = run_mpi(ranks, with_json(out));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(count(r.out, "perplexity"), 1u) << "rank 0 alone prints the table: " << r.out;
    const auto results = nlohmann::json::parse(test::read_file(out))["results"];
    ASSERT_EQ(results.size(), 2u);
    for (size_t i = 0; i < results.size(); ++i) {
      EXPECT_EQ(results[i]["windows"], expected[i]["windows"]);
      EXPECT_EQ(results[i]["predictions"], expected[i]["predictions"]);
      // Each window's loss is computed as one process computes it; only the double sum's order differs.
      EXPECT_NEAR(results[i]["perplexity"].get<double>(), expected[i]["perplexity"].get<double>(),
                  1e-12 * expected[i]["perplexity"].get<double>())
          << ranks << " ranks, context " << results[i]["context"];
    }
  }
}

// Starts mpirun with `args` in the background (output into `log`); returns its pid.
pid_t spawn_mpi(int ranks, const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> argv_s = mpirun_argv(ranks, args);
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

// The pid of the longlora process whose command line holds `marker` (its run directory) and that the
// launcher started as `rank` (OMPI_COMM_WORLD_RANK, or PMI_RANK under MPICH), or −1.
pid_t rank_pid(const std::string& marker, int rank) {
  const std::string wanted[] = {"OMPI_COMM_WORLD_RANK=" + std::to_string(rank) + '\0',
                                "PMI_RANK=" + std::to_string(rank) + '\0'};
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string cmdline = test::read_file(entry.path().string() + "/cmdline");
    if (cmdline.find("longlora") == std::string::npos || cmdline.find(marker) == std::string::npos) continue;
    const std::string env = '\0' + test::read_file(entry.path().string() + "/environ");
    for (const std::string& w : wanted)
      if (env.find('\0' + w) != std::string::npos) return std::stoi(name);
  }
  return -1;
}

// Whether process `pid` still runs (a zombie does not).
bool running(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string id, comm, state;
  return static_cast<bool>(stat >> id >> comm >> state) && state != "Z";
}

TEST_F(MpiCli, KilledRankEndsEveryRankAndResumeEndsBitIdentical) {
  const std::vector<std::string> schedule = {"--max-steps", "40", "--save-steps", "3"};
  const auto whole = run_mpi(2, train_args(dir.file("whole"), 1, schedule));
  ASSERT_EQ(whole.status, 0) << whole.err;

  // SIGKILL rank 1 as soon as the checkpoint of step 3 is complete.
  const pid_t mpirun = spawn_mpi(2, train_args(dir.file("killed"), 1, schedule), dir.file("killed.log"));
  ASSERT_GT(mpirun, 0);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(dir.file("killed/checkpoints/step-3")) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  const pid_t victim = rank_pid(dir.file("killed"), 1), survivor = rank_pid(dir.file("killed"), 0);
  ASSERT_GT(victim, 0) << "rank 1 not found";
  ASSERT_GT(survivor, 0) << "rank 0 not found";
  const auto killed_at = std::chrono::steady_clock::now();
  ::kill(victim, SIGKILL);
  int status = 0;
  deadline = killed_at + std::chrono::seconds(20);
  while (::waitpid(mpirun, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(mpirun, SIGKILL);
      ::waitpid(mpirun, &status, 0);
      FAIL() << "mpirun still ran 20 s after rank 1 was killed";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  const std::string log = test::read_file(dir.file("killed.log"));
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << "the run was not stopped by the kill: " << log;
  if (open_mpi()) {
    EXPECT_NE(log.find("exited on signal 9"), std::string::npos) << "mpirun names the killed rank: " << log;
  }
  // Open MPI ends the other ranks too, shortly after mpirun itself returns.
  while (running(survivor) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(running(survivor)) << "rank 0 outlived the job by more than 20 s";
  std::printf("mpirun ended %.2f s after rank 1 was killed (status %d), rank 0 after %.2f s\n", seconds,
              WEXITSTATUS(status), std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count());
  ASSERT_FALSE(fs::exists(dir.file("killed/adapter"))) << log;

  // On another number of ranks the checkpoint is refused, naming the count it needs.
  const auto other = run_mpi(4, {"train", "--resume", dir.file("killed")});
  EXPECT_EQ(other.status, 2) << other.err;
  EXPECT_NE(other.err.find("resume it with mpirun -np 2"), std::string::npos) << other.err;

  const auto resumed = run_mpi(2, {"train", "--resume", dir.file("killed")});
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  EXPECT_EQ(count(resumed.err, "continuing after update"), 1u) << resumed.err;
  for (const char* f : {"adapter/adapter_model.safetensors", "adapter/trainable_params.bin",
                        "checkpoints/step-40/params.safetensors", "checkpoints/step-40/optimizer.safetensors",
                        "checkpoints/step-40/state.json", "train_config.json"}) {
    ASSERT_TRUE(fs::exists(dir.file("killed/") + f)) << f;
    EXPECT_TRUE(test::read_file(dir.file("whole/") + f) == test::read_file(dir.file("killed/") + f)) << f << " differs";
  }
}

TEST_F(MpiCli, AFailingRankEndsEveryRankWithStatusTwo) {
  // Rank 1 alone cannot read its data: every rank must end, with rank 1's message and status 2.
  const std::string data = dir.file("austen.bin");
  const std::string script = dir.file("rank_data.sh");
  test::write_file(script, "#!/bin/sh\n[ \"${OMPI_COMM_WORLD_RANK:-$PMI_RANK}\" = 1 ] && d=" +
                               quoted(dir.file("missing.bin")) + " || d=" + quoted(data) + "\nexec " +
                               quoted(test::binary_dir() + "/longlora") + " \"$@\" --data \"$d\"\n");
  fs::permissions(script, fs::perms::owner_all);
  std::vector<std::string> args = train_args(dir.file("run"), 1, {"--max-steps", "2"});
  args.erase(args.begin() + 3, args.begin() + 5);  // --data comes from the script
  std::vector<std::string> argv = mpirun_argv(2, args);
  const auto start = std::chrono::steady_clock::now();
  std::string cmd;
  for (const std::string& a : argv) cmd += quoted(a == test::binary_dir() + "/longlora" ? script : a) + " ";
  std::string output;
  const int status = test::run_command(cmd + "</dev/null", &output);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(status, 2) << output;
  EXPECT_NE(output.find("longlora: rank 1 of 2: error: "), std::string::npos) << output;
  EXPECT_NE(output.find("missing.bin"), std::string::npos) << output;
  EXPECT_LT(seconds, 30) << output;
  EXPECT_FALSE(fs::exists(dir.file("run/adapter")));
}

}  // namespace
}  // namespace ll
