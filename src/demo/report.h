// The demo's outputs: OUT/report.md (the perplexity table, time and memory of every run, what the
// numbers show against LongLoRA's Tables 1–2), OUT/perplexity.svg and OUT/results.json.
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "demo/demo_config.h"

namespace ll::demo {

struct ModelResult {
  std::string label;                   // "(d) LongLoRA: LoRA+, S²-Attn"
  std::string id;                      // "longlora"
  nlohmann::json training;             // run summary (train_seconds, peak_rss_mb, …); empty = not trained
  std::map<int64_t, double> perplexity;  // context -> perplexity
};

struct ReportInputs {
  DemoConfig config;
  std::string dtype;
  nlohmann::json corpus, tokenizer, base;
  std::vector<ModelResult> models;  // (0) base, (a) PI, (b)…(e)
  double pipeline_seconds = 0;  // the stages' wall times summed (as first run, cached or not)
};

void write_report(const std::string& out_dir, const ReportInputs& in);
// The perplexity table and the findings, for stdout.
std::string summary_text(const ReportInputs& in);

}  // namespace ll::demo
