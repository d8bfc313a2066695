// Shared by bench/train_step.cpp and bench/context_scaling.cpp: a training configuration, runs of
// longlora's trainer and of the PyTorch peer (bench/peer/longlora_step.py) each in its own process
// (its own peak RSS), the GEMM ceiling, and FLOP counting through model/step_flops.h.
#pragma once
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/progress.h"
#include "core/threads.h"
#include "kernels/matmul.h"
#include "model/init_weights.h"
#include "model/memory_plan.h"
#include "model/step_flops.h"
#include "train/memory_check.h"
#include "train/trainer.h"

namespace bench {

using namespace ll;
namespace fs = std::filesystem;

// Idle OpenMP threads spin (libgomp's default) or sleep (OMP_WAIT_POLICY=passive). libgomp reads the
// policy once at start-up, so `--omp-wait-policy P` re-executes the benchmark with it set.
inline void apply_wait_policy(char** argv, const std::string& policy) {
  const char* now = std::getenv("OMP_WAIT_POLICY");
  if (policy.empty() || (now && policy == now)) return;
  ::setenv("OMP_WAIT_POLICY", policy.c_str(), 1);
  ::execv("/proc/self/exe", argv);
}

inline std::string wait_policy() {
  const char* now = std::getenv("OMP_WAIT_POLICY");
  return now ? now : "default (spinning)";
}

inline double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Rows of pseudo-random tokens (the speed does not depend on the text).
class SyntheticRows : public BatchSource {
 public:
  SyntheticRows(int64_t context, int32_t vocab) : context_(context), vocab_(vocab) {}
  TrainBatch next(int64_t batch_size) override {
    TrainBatch b;
    b.layout.B = batch_size;
    b.layout.T = context_;
    b.layout.lengths.assign(static_cast<size_t>(batch_size), context_);
    for (int64_t i = 0; i < batch_size * context_; ++i) {
      state_ = state_ * 6364136223846793005ull + 1442695040888963407ull;
      b.tokens.push_back(static_cast<int32_t>(3 + (state_ >> 33) % static_cast<uint64_t>(vocab_ - 3)));
    }
    for (int64_t i = 0; i < batch_size * context_; ++i)
      b.targets.push_back((i + 1) % context_ ? b.tokens[static_cast<size_t>(i + 1)] : -100);
    return b;
  }
  nlohmann::json cursor() const override { return {{"state", state_}}; }
  void restore(const nlohmann::json& c) override { state_ = c.at("state").get<uint64_t>(); }
  int64_t rows_per_epoch() const override { return 1 << 20; }
  int64_t tokens_per_epoch() const override { return rows_per_epoch() * context_; }
  std::string describe() const override { return "synthetic tokens"; }

 private:
  int64_t context_;
  int32_t vocab_;
  uint64_t state_ = 1;
};

struct Setup {
  std::string preset = "ref";
  LlamaConfig model;
  std::string model_path;  // a real checkpoint instead of a fresh one (stories)
  int64_t context = 4096, batch = 1;
  bool full = false;
  std::string dtype = "f32";
  int threads = 2;
  int64_t s2_group = 0;  // explicit S² group (0: ratio 1/4)
  bool full_attn = false;  // plain causal attention instead of S²-Attn (--full-attn)
  bool recompute_attention = false;  // checkpoints of the layer inputs only (--recompute-attention)
};

inline Setup preset(const std::string& name) {
  Setup s;
  s.preset = name;
  LlamaConfig& c = s.model;
  c.hidden_size = 512;
  c.intermediate_size = 1376;
  c.num_layers = 8;
  c.num_heads = 8;
  c.num_kv_heads = 8;
  c.vocab_size = 32000;
  if (name == "demo" || name == "demo-long") {
    c.hidden_size = 256;
    c.intermediate_size = 688;
    c.num_layers = 4;
    c.num_heads = 4;
    c.num_kv_heads = 2;
    c.vocab_size = 2048;
    s.context = name == "demo" ? 256 : 2048;
    s.batch = name == "demo" ? 16 : 1;
    s.full = name == "demo";
    s.full_attn = name == "demo";  // the demo pre-trains its base model at 256 with full attention
  } else if (name == "stories") {
    s.model_path = std::string(LL_SOURCE_DIR) + "/../shared/data/stories260K-hf";
    s.context = 512;
  } else if (name != "ref") {
    std::fprintf(stderr, "unknown preset '%s' (ref, demo, demo-long, stories)\n", name.c_str());
    std::exit(2);
  }
  return s;
}

// What a child process reports back to the parent through a pipe: named numbers.
using Figures = std::map<std::string, double>;

// Runs `body` in a child process (its own peak RSS, its own OpenMP runtime; the parent never starts
// OpenMP) and returns the figures it wrote.
template <class Body>
Figures in_child(Body body) {
  std::fflush(stdout);
  int fds[2];
  if (::pipe(fds) != 0) std::exit(1);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    const Figures f = body();
    std::string text;
    for (const auto& [k, v] : f) text += k + " " + std::to_string(v) + "\n";
    if (::write(fds[1], text.data(), text.size()) < 0) std::_Exit(1);
    std::fflush(stdout);
    std::_Exit(0);
  }
  ::close(fds[1]);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) std::printf("  (child failed: status %d)\n", status);
  Figures f;
  char key[128];
  double value;
  for (const char* p = text.c_str(); std::sscanf(p, "%127s %lf", key, &value) == 2;) {
    f[key] = value;
    p = std::strchr(p, '\n');
    if (!p) break;
    ++p;
  }
  return f;
}

// The GEMM ceiling: the best rate of oneDNN (through longlora's matmul, f32 or emulated bf16 as the
// run computes) over the forward products of the model's shapes at M = min(rows, 4096); best of 5.
inline Figures gemm_ceiling(const Setup& s, int64_t rows) {
  set_num_threads(s.threads);
  const LlamaConfig& c = s.model;
  const int64_t M = std::min<int64_t>(rows, 4096), C = c.hidden_size, F = c.intermediate_size;
  const int64_t qkv = (c.num_heads + 2 * c.num_kv_heads) * (C / c.num_heads);
  const Precision p = s.dtype == "bf16" ? Precision::BF16 : Precision::F32;
  Figures best{{"wall", 0}, {"cpu", 0}};
  for (auto [N, K] : {std::pair{F, C}, std::pair{C, F}, std::pair{qkv, C}}) {
    std::vector<float> x(static_cast<size_t>(M * K)), w(static_cast<size_t>(N * K)), y(static_cast<size_t>(M * N));
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 7919) % 1000) * 1e-3f - 0.5f;
    for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>((i * 104729) % 1000) * 1e-3f - 0.5f;
    OwnedTensor gw(gemm_weight_dtype(p), {N, K});
    convert_gemm_weight(gw.view(), Tensor::view(w.data(), DType::F32, {N, K}), p);
    Arena scratch;
    linear_forward(y.data(), N, x.data(), K, M, gw.view(), p, false, scratch);  // JIT, page-in
    for (int rep = 0; rep < 5; ++rep) {
      Stopwatch t;
      const double cpu0 = cpu_seconds();
      linear_forward(y.data(), N, x.data(), K, M, gw.view(), p, false, scratch);
      const double flops = 2.0 * M * N * K;
      best["wall"] = std::max(best["wall"], flops / t.seconds() / 1e9);
      best["cpu"] = std::max(best["cpu"], flops / ((cpu_seconds() - cpu0) / s.threads) / 1e9);
    }
  }
  return best;
}

// One longlora configuration: `warmup` untimed steps, `steps` timed ones, and with `trailing` one more
// untimed step (the run's final checkpoint is written after the last step: with it, outside the
// timed steps). Figures: tokens/s, wall and CPU seconds per step, FLOPs per step, peak RSS, plan.
// Over the ranks of `comm` (bench/data_parallel.cpp), every rank runs it: s.batch rows per rank,
// tokens/s of all ranks, and the bytes each rank handed to collectives per update.
inline Figures run_longlora(const Setup& s, bool checkpointing, int64_t steps, int64_t warmup = 1,
                            bool trailing = true, Communicator& comm = one_process()) {
  set_num_threads(s.threads);
  std::string model_path = s.model_path, fresh_dir;
  if (model_path.empty()) {
    fresh_dir = fs::temp_directory_path().string() + "/longlora-bench-train-" + std::to_string(::getpid());
    LlamaConfig c = s.model;
    c.head_dim = c.hidden_size / c.num_heads;
    c.max_position_embeddings = s.context;
    write_initialized_llama(fresh_dir, c, 1, DType::F32);
    model_path = fresh_dir;
  }
  TrainOptions o;
  o.model = model_path;
  o.data = "synthetic";
  o.context = s.context;
  o.batch_size = s.batch;
  o.full = s.full;
  o.dtype = s.dtype;
  o.s2_group = s.s2_group;
  o.full_attn = s.full_attn;
  o.grad_accum = 1;
  o.max_steps = warmup + steps + (trailing ? 1 : 0);
  o.warmup_steps = 0;
  o.checkpointing = checkpointing;
  o.recompute_attention = checkpointing && s.recompute_attention;
  o.threads = s.threads;
  o.save_steps = 1'000'000;
  auto model = open_training_model(o, /*check_memory=*/true, comm);
  SyntheticRows data(s.context, static_cast<int32_t>(model->config().vocab_size));
  const std::string run_dir = fs::temp_directory_path().string() + "/longlora-bench-run-" + std::to_string(::getpid());
  fs::remove_all(run_dir);
  Trainer trainer(*model, data, o, run_dir, comm);
  trainer.set_progress_output(nullptr);
  double wall = 0, cpu = 0, cpu_mark = 0;
  int64_t tokens = 0;
  uint64_t communicated_mark = 0, communicated = 0;
  trainer.on_step = [&](const StepRecord& r) {
    const double now = cpu_seconds();
    if (r.step > warmup && r.step <= warmup + steps) {
      wall += r.step_s;
      cpu += now - cpu_mark;
      tokens += r.tokens;
      communicated += comm.collective_bytes() - communicated_mark;
    }
    cpu_mark = now;
    communicated_mark = comm.collective_bytes();
  };
  trainer.start_new_run();
  trainer.train();
  fs::remove_all(run_dir);
  if (!fresh_dir.empty()) fs::remove_all(fresh_dir);

  BatchLayout layout;
  layout.B = s.batch;
  layout.T = s.context;
  layout.lengths.assign(static_cast<size_t>(s.batch), s.context);
  const PassFlops flops = training_flops(*model, layout, o.attention_mask(), checkpointing, !o.recompute_attention);
  const PassFlops useful = training_flops(*model, layout, o.attention_mask(), false, true);
  const MemoryPlan plan = plan_training_run(model->config(), model->files().weight_dtype(), model->precision(), o);
  return {{"tokens_per_s", tokens / wall},
          {"step_s", wall / steps},
          {"cpu_s", cpu / steps},
          {"flops", flops.total()},
          {"useful_flops", useful.total()},
          {"gemm_flops", flops.gemm},
          {"peak_rss", static_cast<double>(peak_rss_bytes())},
          {"plan", static_cast<double>(plan.total())},
          {"trainable", static_cast<double>(trainer.trainable_elements())},
          {"collective_bytes", static_cast<double>(communicated) / steps}};
}

// The PyTorch peer in its own process: figures from its JSON line (empty when it failed).
inline Figures run_peer(const Setup& s, const std::string& precision, bool checkpointing, int64_t steps,
                 const std::string& blas_dir) {
  const LlamaConfig& c = s.model;
  std::string cmd;
  if (!blas_dir.empty()) cmd += "LD_LIBRARY_PATH=" + blas_dir + " ";
  cmd += "/usr/bin/python3 " + std::string(LL_SOURCE_DIR) + "/bench/peer/longlora_step.py --context " +
         std::to_string(s.context) + " --dim " + std::to_string(c.hidden_size) + " --layers " +
         std::to_string(c.num_layers) + " --heads " + std::to_string(c.num_heads) + " --ffn " +
         std::to_string(c.intermediate_size) + " --vocab " + std::to_string(c.vocab_size) + " --precision " +
         precision + " --steps " + std::to_string(steps) + " --threads " + std::to_string(s.threads) +
         " --group " + std::to_string(s.s2_group) +
         (checkpointing ? " --checkpointing" : "");
  std::fflush(stdout);
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return {};
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  ::pclose(p);
  const size_t brace = out.rfind('{');
  if (brace == std::string::npos) return {};
  const nlohmann::json j = nlohmann::json::parse(out.substr(brace), nullptr, false);
  if (j.is_discarded()) return {};
  return {{"tokens_per_s", j["tokens_per_s"].get<double>()},
          {"step_s", j["step_s"].get<double>()},
          {"cpu_s", j["cpu_s_per_step"].get<double>()},
          {"peak_rss", j["peak_rss_bytes"].get<double>()}};
}

}  // namespace bench
