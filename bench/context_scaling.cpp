// Long-context training of the reference model (dim 512, 8 layers, 8 heads, FFN 1376, vocab
// 32000; LoRA r 8 on q/k/v/o + trainable embed/norm, batch 1, gradient checkpointing, S²-Attn):
//
// 1. Memory: the largest context whose training step fits in --budget-gib (24 by default) by the
//    memory plan (model/memory_plan.h), and the measured peak RSS of every run below next to the
//    plan; --verify-context N runs one real step at N (S² group 2048, which needs the same memory as
//    ratio 1/4 and far less time) and prints its peak RSS.
// 2. Speed: tokens/s and achieved GFLOP/s (GEMMs plus the attention FLOPs actually needed, by
//    model/step_flops.h) at each of --contexts, with S²-Attn ratio 1/4 and with a fixed group of 2048,
//    next to the 4k figure; the PyTorch peer (bench/peer/longlora_step.py, checkpointing) at the
//    contexts up to --peer-max-context, and for longer ones the bytes its attention probabilities
//    alone would need.
// Every longlora run is one process: warm-up steps (--warmup, 1 by default) then one timed step.
//
// usage: bench_context_scaling [--contexts 4096,16384,65536] [--masks ratio,group] [--warmup N]
//        [--dtype f32|bf16] [--threads N] [--budget-gib G] [--verify-context N]
//        [--peer f32|bf16|none] [--peer-max-context N] [--peer-blas DIR] [--omp-wait-policy P]
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "train_bench.h"

using namespace bench;

namespace {

std::vector<int64_t> parse_list(const std::string& s) {
  std::vector<int64_t> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::stoll(item));
  return out;
}

// Largest context (a multiple of 1024) whose plan fits in `budget` bytes.
int64_t largest_planned_context(const Setup& s, uint64_t budget) {
  int64_t lo = 1024, hi = 1024;
  LlamaConfig config = s.model;
  config.head_dim = config.hidden_size / config.num_heads;  // as the runs' checkpoints have it
  auto fits = [&](int64_t n) {
    return plan_training(config, DType::F32, s.dtype == "bf16" ? Precision::BF16 : Precision::F32, n, s.threads)
               .total() <= budget;
  };
  if (!fits(lo)) return 0;
  while (fits(hi * 2)) hi *= 2;
  hi *= 2;  // fits(lo = previous hi) holds, fits(hi) does not
  lo = hi / 2;
  while (hi - lo > 1024) {
    const int64_t mid = (lo + hi) / 2 / 1024 * 1024;
    (fits(mid) ? lo : hi) = mid;
  }
  return lo;
}

struct Point {
  int64_t context;
  std::string mask;  // "ratio" (1/4) or "group" (2048)
};

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i + 1 < argc; i += 2) flags[argv[i] + 2] = argv[i + 1];
  apply_wait_policy(argv, flags["omp-wait-policy"]);
  auto flag = [&](const char* name, const std::string& fallback) { return flags.count(name) ? flags[name] : fallback; };
  Setup s = preset("ref");
  s.dtype = flag("dtype", "f32");
  s.threads = std::stoi(flag("threads", "2"));
  const std::vector<int64_t> contexts = parse_list(flag("contexts", "4096,16384,65536"));
  const std::string masks = flag("masks", "ratio,group");
  const int64_t warmup = std::stoll(flag("warmup", "1"));
  const double budget_gib = std::stod(flag("budget-gib", "24"));
  const int64_t verify = std::stoll(flag("verify-context", "0"));
  const std::string peer = flag("peer", "f32");
  const int64_t peer_max = std::stoll(flag("peer-max-context", "4096"));
  const std::string blas = flag("peer-blas", "");

  std::printf("bench_context_scaling: reference model, LoRA+ r8, checkpointing, %s compute, %d threads (OpenMP wait "
              "policy %s)\n", s.dtype.c_str(), s.threads, wait_policy().c_str());
  const uint64_t budget = static_cast<uint64_t>(budget_gib * 1024 * 1024 * 1024);
  std::printf("  largest context planned to fit in %.0f GiB: %lld tokens\n", budget_gib,
              static_cast<long long>(largest_planned_context(s, budget)));
  const Figures ceiling = in_child([&] { return gemm_ceiling(s, 4096); });
  std::printf("  GEMM ceiling (oneDNN, model shapes, M = 4096): %.1f GFLOP/s wall | %.1f CPU-time basis\n",
              ceiling.at("wall"), ceiling.at("cpu"));

  std::vector<Point> points;
  for (int64_t n : contexts) {
    if (masks.find("ratio") != std::string::npos) points.push_back({n, "ratio"});
    if (masks.find("group") != std::string::npos && n > 2048) points.push_back({n, "group"});
  }
  std::map<std::string, double> base_wall, base_cpu;  // GFLOP/s of the first context, per mask
  for (const Point& p : points) {
    Setup run = s;
    run.context = p.context;
    run.s2_group = p.mask == "group" ? 2048 : 0;
    const Figures f = in_child([&] { return run_longlora(run, /*checkpointing=*/true, 1, warmup, /*trailing=*/false); });
    if (f.empty()) continue;
    const double wall = f.at("flops") / f.at("step_s") / 1e9, cpu = f.at("flops") / (f.at("cpu_s") / s.threads) / 1e9;
    if (!base_wall.count(p.mask)) {
      base_wall[p.mask] = wall;
      base_cpu[p.mask] = cpu;
    }
    std::printf("  longlora %6lld %-10s %7.1f tok/s %8.1f s/step (cpu %8.1f s) %6.1f GFLOP/s wall (%3.0f%% of first) | "
                "%6.1f cpu basis (%3.0f%%)  %5.0f MFLOP/token  peak RSS %s (plan %s)\n",
                static_cast<long long>(p.context), p.mask == "group" ? "G 2048" : "ratio 1/4", f.at("tokens_per_s"),
                f.at("step_s"), f.at("cpu_s"), wall, 100 * wall / base_wall[p.mask], cpu, 100 * cpu / base_cpu[p.mask],
                f.at("flops") / p.context / 1e6, format_bytes(static_cast<uint64_t>(f.at("peak_rss"))).c_str(),
                format_bytes(static_cast<uint64_t>(f.at("plan"))).c_str());
  }

  if (peer != "none") {
    for (int64_t n : contexts) {
      Setup run = s;
      run.context = n;
      const int64_t group = n / 4;
      if (n > peer_max) {
        // Roll-and-group S²-Attn materialises softmax(q·kᵀ) for every group: H·(N/G)·G² floats a layer.
        const double bytes = 4.0 * static_cast<double>(s.model.num_heads) * static_cast<double>(n / group) *
                             static_cast<double>(group) * static_cast<double>(group);
        std::printf("  peer %6lld ratio 1/4: not run; its attention probabilities alone take %s per layer\n",
                    static_cast<long long>(n), format_bytes(static_cast<uint64_t>(bytes)).c_str());
        continue;
      }
      const Figures f = run_peer(run, peer, /*checkpointing=*/true, 1, blas);
      if (f.empty()) {
        std::printf("  peer %6lld ratio 1/4: failed\n", static_cast<long long>(n));
        continue;
      }
      std::printf("  peer PyTorch %s %6lld ratio 1/4: %7.1f tok/s %8.1f s/step (cpu %8.1f s)  peak RSS %s\n",
                  peer.c_str(), static_cast<long long>(n), f.at("tokens_per_s"), f.at("step_s"), f.at("cpu_s"),
                  format_bytes(static_cast<uint64_t>(f.at("peak_rss"))).c_str());
    }
  }

  if (verify > 0) {
    Setup run = s;
    run.context = verify;
    run.s2_group = 2048;
    const Figures f = in_child([&] { return run_longlora(run, /*checkpointing=*/true, 1, 0, /*trailing=*/false); });
    if (!f.empty())
      std::printf("  verify: one step at %lld tokens (G 2048): %.1f s, peak RSS %s (plan %s)\n", static_cast<long long>(verify),
                  f.at("step_s"), format_bytes(static_cast<uint64_t>(f.at("peak_rss"))).c_str(),
                  format_bytes(static_cast<uint64_t>(f.at("plan"))).c_str());
  }
  return 0;
}
