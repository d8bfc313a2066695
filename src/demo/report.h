// The demo's outputs: OUT/report.md (the perplexity table over the seeds, time and memory of every
// run, the findings against LongLoRA's claims, the machine and its load during each stage),
// OUT/perplexity.svg (with the seeds' range as error bars) and OUT/results.json.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "demo/demo_config.h"
#include "demo/results.h"

namespace ll::demo {

// One stage as it ran (a cached stage reports the run that computed it).
struct StageRecord {
  std::string what;  // "extend to 2048: (d) LongLoRA: LoRA+, S²-Attn, seed 3"
  double wall_seconds = 0, load_start = 0, load_end = 0;
  int threads = 0;
};

struct ReportInputs {
  DemoConfig config;
  std::string dtype;
  nlohmann::json corpus, tokenizer, base;
  std::vector<ModelResult> models;  // (0) base, (a) PI, (b)…(e)
  std::vector<StageRecord> stages;  // in order
  double pipeline_seconds = 0;      // the stages' wall times summed (as first run, cached or not)
};

void write_report(const std::string& out_dir, const ReportInputs& in);
// The perplexity table and the findings, for stdout.
std::string summary_text(const ReportInputs& in);

}  // namespace ll::demo
