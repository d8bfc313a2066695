// Training speed: tokens/s, step time, achieved GFLOP/s and peak memory of training steps through
// the real trainer (forward + backward, clipping, AdamW, re-preparing the GEMM weights), next to the
// PyTorch peer (bench/peer/longlora_step.py: the same shapes and S²-Attn in plain PyTorch) run in
// the same invocation, and next to the GEMM ceiling (oneDNN on the model's own shapes) measured in
// the same invocation.
//
// Presets (every size can be overridden by flags):
//   ref        the reference: dim 512, 8 layers, 8 heads, FFN 1376, vocab 32000, context
//              4096, S²-Attn 1/4, LoRA r 8 on q/k/v/o + trainable embed/norm, batch 1
//   demo       the demo's short-context model: hidden 256, 4 layers, 4 heads (2 KV), FFN 688, vocab
//              2048, context 256, batch 16, --full, full causal attention
//   demo-long  the same model at context 2048, batch 1, LoRA+ with S²-Attn
//   stories    the real stories260K at context 512, LoRA+
// --model DIR runs a checkpoint of any size instead (its config's shapes; e.g. the LLaMA-2-7B-shaped
// one of scripts/make-shaped-checkpoint.py: bench/7b-step.sh); --warmup N and --trailing 0|1 set the
// untimed steps around the timed ones (1 and 1 by default; a 7B step takes minutes).
// FLOPs are counted by model/step_flops.h (GEMMs, and attention's needed causal work only).
// Figures come twice: on the wall clock and on a CPU-time basis (FLOPs ÷ process CPU seconds ÷
// threads: what the run does per core-second it actually got, steadier on a shared machine).
//
// usage: bench_train_step [--preset ref|demo|demo-long|stories] [--context N] [--batch N]
//        [--dim N] [--layers N] [--heads N] [--kv-heads N] [--ffn N] [--vocab N] [--full 0|1]
//        [--model DIR] [--warmup N] [--trailing 0|1] [--dtype f32|bf16] [--s2-group G] [--full-attn 0|1] [--checkpointing on|off|both] [--recompute-attention 0|1] [--steps N] [--threads N]
//        [--peer none|f32|bf16|all] [--peer-steps N] [--peer-blas DIR] [--omp-wait-policy passive|active]
// --peer-blas DIR puts DIR first on the peer's LD_LIBRARY_PATH (e.g. an OpenBLAS libblas.so.3:
// Debian's PyTorch otherwise runs on the reference BLAS at well under 1 GFLOP/s here).
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "train_bench.h"

using namespace bench;

namespace {

std::string describe(const Setup& s) {
  const LlamaConfig& c = s.model;
  char buf[256];
  std::snprintf(buf, sizeof buf, "dim %lld, %lld layers, %lld/%lld heads, FFN %lld, vocab %lld, context %lld, batch %lld, %s, %s",
                static_cast<long long>(c.hidden_size), static_cast<long long>(c.num_layers),
                static_cast<long long>(c.num_heads), static_cast<long long>(c.num_kv_heads),
                static_cast<long long>(c.intermediate_size), static_cast<long long>(c.vocab_size),
                static_cast<long long>(s.context), static_cast<long long>(s.batch),
                s.full ? "--full" : "LoRA+ r8 q/k/v/o + embed/norm", s.full_attn ? "full causal attention" : "S2-Attn 1/4");
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i + 1 < argc; i += 2) flags[argv[i] + 2] = argv[i + 1];
  apply_wait_policy(argv, flags["omp-wait-policy"]);
  auto flag = [&](const char* name, const std::string& fallback) {
    return flags.count(name) ? flags[name] : fallback;
  };
  Setup s = preset(flag("preset", "ref"));
  if (flags.count("model")) {
    s.model_path = flags["model"];
    s.model = parse_hf_config(s.model_path + "/config.json");
  }
  LlamaConfig& c = s.model;
  c.hidden_size = std::stoll(flag("dim", std::to_string(c.hidden_size)));
  c.num_layers = std::stoll(flag("layers", std::to_string(c.num_layers)));
  c.num_heads = std::stoll(flag("heads", std::to_string(c.num_heads)));
  c.num_kv_heads = std::stoll(flag("kv-heads", std::to_string(c.num_kv_heads)));
  c.intermediate_size = std::stoll(flag("ffn", std::to_string(c.intermediate_size)));
  c.vocab_size = std::stoll(flag("vocab", std::to_string(c.vocab_size)));
  s.context = std::stoll(flag("context", std::to_string(s.context)));
  s.batch = std::stoll(flag("batch", std::to_string(s.batch)));
  s.full = flag("full", s.full ? "1" : "0") == "1";
  s.dtype = flag("dtype", s.dtype);
  s.threads = std::stoi(flag("threads", "2"));
  s.s2_group = std::stoll(flag("s2-group", "0"));
  s.full_attn = flag("full-attn", s.full_attn ? "1" : "0") == "1";
  s.recompute_attention = flag("recompute-attention", "0") == "1";
  const int64_t steps = std::stoll(flag("steps", "2")), warmup = std::stoll(flag("warmup", "1"));
  const bool trailing = flag("trailing", "1") == "1";
  const int64_t peer_steps = std::stoll(flag("peer-steps", "1"));
  const std::string ck = flag("checkpointing", "both"), peer = flag("peer", "all");
  const std::string blas = flag("peer-blas", "");

  std::printf("bench_train_step: %s\n  %s; %s compute, %d threads (OpenMP wait policy %s), %lld timed steps after %lld warm-up\n",
              s.model_path.empty() ? s.preset.c_str() : s.model_path.c_str(), describe(s).c_str(), s.dtype.c_str(),
              s.threads, wait_policy().c_str(), static_cast<long long>(steps), static_cast<long long>(warmup));
  const Figures ceiling = in_child([&] { return gemm_ceiling(s, s.batch * s.context); });
  std::printf("  GEMM ceiling (oneDNN %s, model shapes, M = %lld): %.1f GFLOP/s wall | %.1f CPU-time basis\n",
              s.dtype == "bf16" ? "bf16-emulated f32" : "f32",
              static_cast<long long>(std::min<int64_t>(s.batch * s.context, 4096)), ceiling.at("wall"),
              ceiling.at("cpu"));

  std::vector<bool> modes;
  if (ck != "off") modes.push_back(true);
  if (ck != "on") modes.push_back(false);
  std::map<bool, Figures> ours;
  for (bool checkpointing : modes) {
    const Figures f = in_child([&] { return run_longlora(s, checkpointing, steps, warmup, trailing); });
    if (f.empty()) continue;
    ours[checkpointing] = f;
    const double gflops_wall = f.at("flops") / f.at("step_s") / 1e9;
    const double gflops_cpu = f.at("flops") / (f.at("cpu_s") / s.threads) / 1e9;
    const char* mode = !checkpointing ? "no checkpointing" : s.recompute_attention ? "ckpt inputs only" : "checkpointing";
    std::printf("  longlora %-17s %8.1f tok/s  %7.2f s/step (cpu %6.2f s)  %6.1f GFLOP/s = %3.0f%% of ceiling | "
                "cpu basis %6.1f = %3.0f%%  (%.0f MFLOP/token, %.0f useful)  peak RSS %s (plan %s)\n",
                mode, f.at("tokens_per_s"), f.at("step_s"),
                f.at("cpu_s"), gflops_wall, 100 * gflops_wall / ceiling.at("wall"), gflops_cpu,
                100 * gflops_cpu / ceiling.at("cpu"), f.at("flops") / (s.batch * s.context) / 1e6,
                f.at("useful_flops") / (s.batch * s.context) / 1e6, format_bytes(static_cast<uint64_t>(f.at("peak_rss"))).c_str(),
                format_bytes(static_cast<uint64_t>(f.at("plan"))).c_str());
  }
  if (peer == "none" || s.batch != 1 || s.full || s.full_attn || !s.model_path.empty()) {
    if (peer != "none") std::printf("  (the peer runs batch 1 LoRA+ with S2-Attn on fresh models only)\n");
    return 0;
  }
  std::vector<std::string> precisions;
  if (peer == "all" || peer == "f32") precisions.push_back("f32");
  if (peer == "all" || peer == "bf16") precisions.push_back("bf16");
  for (const std::string& precision : precisions)
    for (bool checkpointing : modes) {
      const Figures f = run_peer(s, precision, checkpointing, peer_steps, blas);
      if (f.empty()) {
        std::printf("  peer %s %s: failed\n", precision.c_str(), checkpointing ? "checkpointing" : "no checkpointing");
        continue;
      }
      std::printf("  peer PyTorch %-4s %-17s %8.1f tok/s  %7.2f s/step (cpu %6.2f s)  peak RSS %s",
                  precision.c_str(), checkpointing ? "checkpointing" : "no checkpointing", f.at("tokens_per_s"),
                  f.at("step_s"), f.at("cpu_s"), format_bytes(static_cast<uint64_t>(f.at("peak_rss"))).c_str());
      if (ours.count(checkpointing)) {
        const Figures& o = ours[checkpointing];
        std::printf("  -> longlora %.2fx tokens/s (cpu basis %.2fx), %.0f%% of its peak RSS", o.at("tokens_per_s") / f.at("tokens_per_s"),
                    f.at("cpu_s") / o.at("cpu_s"), 100 * o.at("peak_rss") / f.at("peak_rss"));
      }
      std::printf("\n");
    }
  return 0;
}
