// Training speed: tokens/s and peak memory of LongLoRA training steps through the real trainer
// (forward + backward with per-layer checkpointing, clipping, AdamW, re-preparing the GEMM weights),
// with its defaults — LoRA+ (r 8 on q/k/v/o, trainable embeddings and norms), bf16 compute, S²-Attn
// (flash form, ratio 1/4), batch 1, one micro-batch per step — for:
//   stories260K (real)      dim 64, 5 layers, vocab 512, context 512
//   ref dim512 L8 V32000    a freshly initialised LLaMA of the reference shape, context 4096
// Each configuration runs in its own process so that its peak RSS is its own; printed next to the
// memory plan (model/memory_plan.h plan_training) for the same configuration.
//
// usage: bench_train_step [--steps N] [--threads N] [--only stories|ref]
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/progress.h"
#include "core/threads.h"
#include "model/init_weights.h"
#include "model/memory_plan.h"
#include "train/trainer.h"

namespace {

using namespace ll;
namespace fs = std::filesystem;

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

// One configuration: 1 warm-up step, then `steps` timed ones.
void run(const char* label, const std::string& model_path, int64_t context, int64_t steps) {
  TrainOptions o;
  o.model = model_path;
  o.data = "synthetic";
  o.context = context;
  o.grad_accum = 1;
  o.max_steps = steps + 1;
  o.warmup_steps = 0;
  o.save_steps = 1'000'000;  // only the final checkpoint, after the timed steps
  auto model = open_training_model(o);
  SyntheticRows data(context, static_cast<int32_t>(model->config().vocab_size));
  const std::string run_dir = fs::temp_directory_path().string() + "/longlora-bench-train-" + std::to_string(::getpid());
  fs::remove_all(run_dir);
  Trainer trainer(*model, data, o, run_dir);
  trainer.set_progress_output(nullptr);
  double seconds = 0;
  int64_t tokens = 0;
  trainer.on_step = [&](const StepRecord& r) {
    if (r.step == 1) return;  // warm-up: oneDNN primitives, page-in
    seconds += r.step_s;
    tokens += r.tokens;
  };
  trainer.start_new_run();
  trainer.train();
  fs::remove_all(run_dir);
  const LlamaConfig& c = model->config();
  const MemoryPlan plan = plan_training(c, model->checkpoint().weight_dtype(), model->precision(), context, num_threads());
  std::printf("%-24s context %5lld  S2 flash 1/4  LoRA+ r8 %s  %lld trainable params: %8.1f tok/s  %7.2f s/step  "
              "peak RSS %s (plan %s)\n",
              label, static_cast<long long>(context), o.dtype.c_str(), static_cast<long long>(trainer.trainable_elements()),
              tokens / seconds, seconds / steps, format_bytes(peak_rss_bytes()).c_str(), format_bytes(plan.total()).c_str());
  std::fflush(stdout);
}

// Runs `body` in a child process (its own peak RSS; the parent never starts OpenMP).
template <class Body>
void in_child(Body body) {
  std::fflush(stdout);
  const pid_t pid = ::fork();
  if (pid == 0) {
    body();
    std::fflush(stdout);
    std::_Exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) std::printf("  (configuration failed: status %d)\n", status);
}

}  // namespace

int main(int argc, char** argv) {
  int64_t steps = 3;
  int threads = 0;
  std::string only;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--steps")) steps = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--only")) only = argv[i + 1];
  }
  std::printf("bench_train_step: %lld timed steps after 1 warm-up, threads %s\n", static_cast<long long>(steps),
              threads > 0 ? std::to_string(threads).c_str() : "all");
  const std::string stories = std::string(LL_SOURCE_DIR) + "/../shared/data/stories260K-hf";
  if (only.empty() || only == "stories") {
    if (fs::exists(stories))
      in_child([&] {
        set_num_threads(threads);
        run("stories260K (real)", stories, 512, steps);
      });
    else
      std::printf("stories260K: ../shared/data absent, skipped\n");
  }
  if (only.empty() || only == "ref") {
    in_child([&] {
      set_num_threads(threads);
      LlamaConfig ref;
      ref.hidden_size = 512;
      ref.intermediate_size = 1376;
      ref.num_layers = 8;
      ref.num_heads = 8;
      ref.num_kv_heads = 8;
      ref.head_dim = 64;
      ref.vocab_size = 32000;
      ref.max_position_embeddings = 4096;
      const std::string dir = fs::temp_directory_path().string() + "/longlora-bench-train-ref512-" + std::to_string(::getpid());
      write_initialized_llama(dir, ref, 1, DType::F32);
      run("ref dim512 L8 V32000", dir, 4096, steps);
      fs::remove_all(dir);
    });
  }
  return 0;
}
