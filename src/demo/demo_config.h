// What `longlora demo` runs: the model, the token budgets, the seeds and the evaluation, for the
// full demo (≈ 12 minutes on 2 idle cores with 3 seeds, estimated_seconds) and `--quick` (a smoke test).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ll::demo {

struct DemoConfig {
  std::string name;  // "full" or "quick"
  int vocab = 2048;  // SentencePiece BPE pieces
  // The base LLaMA.
  int hidden = 256, layers = 4, heads = 4, kv_heads = 2, ffn = 688;
  double rope_theta = 10000;  // RoPE base, as LLaMA's
  int64_t base_context = 256;
  int64_t target_context = 2048;  // 8×: position-interpolation factor 8
  // Pre-training the base from scratch (--full, full attention, cosine schedule).
  int64_t pretrain_steps = 600, pretrain_batch = 16, pretrain_warmup = 30;
  double pretrain_lr = 2e-3;
  // Every context-extension run: the same token budget (steps × batch × target_context).
  int64_t extend_steps = 60, extend_batch = 1, extend_warmup = 5;
  double lora_lr = 2e-3;  // (b) LoRA, (c) LoRA+ full attention, (d) LongLoRA
  double full_lr = 3e-4;  // (e) full fine-tuning
  int seeds = 3;          // each extension run is trained (and evaluated) once per seed
  // Evaluation: LongLoRA's protocol on held-out books, the first eval_windows windows per context.
  std::vector<int64_t> eval_contexts = {256, 512, 1024, 2048};
  int64_t eval_windows = 24;
  std::vector<std::string> eval_books = {"Isa", "Acts"};  // held out of training

  nlohmann::json json() const;
};

// The whole demo's computation on 2 idle cores, from its token budget and the rates of issue 17's
// idle run on a 2-core Zen 4 (pre-training, S²-Attn and full-attention extension, evaluation).
double estimated_seconds(const DemoConfig& c);

// `scale` multiplies the step counts and evaluation windows (tests run a tiny budget);
// `extend_steps` > 0 replaces the extension runs' step count (after scaling; its warm-up follows).
DemoConfig demo_config(bool quick, double scale, int64_t extend_steps = 0);

}  // namespace ll::demo
