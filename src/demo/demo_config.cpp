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
          {"eval", {{"contexts", eval_contexts}, {"windows", eval_windows}, {"books", eval_books}}}};
}

DemoConfig demo_config(bool quick, double scale) {
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
  }
  auto scaled = [&](int64_t n) { return std::max<int64_t>(1, static_cast<int64_t>(std::lround(n * scale))); };
  c.pretrain_steps = scaled(c.pretrain_steps);
  c.pretrain_warmup = std::min(c.pretrain_warmup, std::max<int64_t>(1, c.pretrain_steps / 10));
  c.extend_steps = scaled(c.extend_steps);
  c.extend_warmup = std::min(c.extend_warmup, std::max<int64_t>(0, c.extend_steps / 5));
  c.eval_windows = scaled(c.eval_windows);
  return c;
}

}  // namespace ll::demo
