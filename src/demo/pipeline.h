// `longlora demo`: LongLoRA's claims reproduced at small scale, end to end through the CLI.
//   corpus     the King James Bible split into books (two long books held out for evaluation)
//   tokenizer  SentencePiece BPE trained on the training books
//   base       a small LLaMA initialised and pre-trained from scratch (`train --full`) at a short context
//   extend     context ×8 from that base, same start and token budget for each: (a) position
//              interpolation only, (b) plain LoRA, (c) LoRA+ with full attention, (d) LongLoRA (LoRA+
//              with S²-Attn), (e) full fine-tuning with S²-Attn; (b)–(e) once per seed
//   eval       every model (every seed) at four contexts, LongLoRA's protocol on the held-out books
//   report     OUT/report.md, OUT/perplexity.svg, a summary with the findings on stdout
// Every stage is cached under OUT/cache (demo/stage.h), so a second run is fast and an interrupted
// one continues.
#pragma once
#include <cstdint>
#include <string>

namespace ll::demo {

struct DemoOptions {
  std::string out_dir = "demo-out";
  bool quick = false;
  double scale = 1.0;  // multiplies step counts and evaluation windows
  int threads = 0;     // 0 = all cores
  int seeds = 0;       // training seeds per extension run; 0 = the config's (3, or 1 for --quick)
  int64_t extend_steps = 0;  // steps of each extension run; 0 = the config's
  double lora_lr = 0;        // learning rate of the LoRA runs (b)–(d); 0 = the config's
};

void run_demo(const DemoOptions& options);

}  // namespace ll::demo
