#include "demo/demo_config.h"

#include <algorithm>
#include <cmath>

namespace ll::demo {

nlohmann::json DemoConfig::json() const {
  return {{"name", name},
          {"vocab", vocab},
          {"model", {{"hidden", hidden}, {"layers", layers}, {"heads", heads}, {"kv_heads", kv_heads}, {"ffn", ffn},
                     {"rope_theta", rope_theta}}},
          {"base_context", base_context},
          {"target_context", target_context},
          {"pretrain", {{"steps", pretrain_steps}, {"batch", pretrain_batch}, {"warmup", pretrain_warmup}, {"lr", pretrain_lr}}},
          {"extend", {{"steps", extend_steps}, {"batch", extend_batch}, {"warmup", extend_warmup}, {"lora_lr", lora_lr},
                      {"full_lr", full_lr}}},
          {"seeds", seeds},
          {"eval", {{"contexts", eval_contexts}, {"windows", eval_windows}, {"books", eval_books}}}};
}

double estimated_seconds(const DemoConfig& c) {
  // Tokens per second on 2 idle Zen 4 cores (issue 17: 2.46 M pre-training tokens in 5m39s, 122,880
  // extension tokens in 17–19 s with S²-Attn and 28 s with full attention, six evaluations in ≈ 40 s).
  constexpr double kPretrain = 7200, kExtendS2 = 6800, kExtendFull = 4400, kEval = 14000, kSetupSeconds = 10;
  const double pretrain = static_cast<double>(c.pretrain_steps * c.pretrain_batch * c.base_context);
  const double extend = static_cast<double>(c.extend_steps * c.extend_batch * c.target_context);
  double eval_tokens = 0;
  for (int64_t ctx : c.eval_contexts) eval_tokens += static_cast<double>(c.eval_windows * ctx);
  // Three S²-Attn runs ((b), (d), (e)) and one with full attention ((c)) per seed; two untrained
  // models ((0), (a)) and four trained ones per seed to evaluate.
  return kSetupSeconds + pretrain / kPretrain + c.seeds * extend * (3 / kExtendS2 + 1 / kExtendFull) +
         (2 + 4 * c.seeds) * eval_tokens / kEval;
}

DemoConfig demo_config(bool quick, double scale, int64_t extend_steps) {
  DemoConfig c;
  c.name = "full";
  if (quick) {
    c.name = "quick";
    c.vocab = 1024;
    c.hidden = 128;
    c.layers = 2;
    c.heads = 4;
    c.kv_heads = 2;
    c.ffn = 344;
    c.base_context = 128;
    c.target_context = 1024;
    c.pretrain_steps = 250;
    c.pretrain_batch = 16;
    c.pretrain_warmup = 20;
    c.extend_steps = 120;
    c.eval_contexts = {128, 256, 512, 1024};
    c.eval_windows = 8;
    c.seeds = 1;
  }
  auto scaled = [&](int64_t n) { return std::max<int64_t>(1, static_cast<int64_t>(std::lround(n * scale))); };
  c.pretrain_steps = scaled(c.pretrain_steps);
  c.pretrain_warmup = std::min(c.pretrain_warmup, std::max<int64_t>(1, c.pretrain_steps / 10));
  c.extend_steps = extend_steps > 0 ? extend_steps : scaled(c.extend_steps);
  c.extend_warmup = std::min(c.extend_warmup, std::max<int64_t>(0, c.extend_steps / 5));
  c.eval_windows = scaled(c.eval_windows);
  return c;
}

}  // namespace ll::demo
