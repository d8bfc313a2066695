// The demo's results table: every model's perplexity at every evaluated context, one value per
// training seed, and one training summary per seed; a cell's statistics over the seeds.
#pragma once
#include <cmath>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ll::demo {

// Mean and range of one cell over the seeds (n = 0: not measured).
struct Cell {
  double mean = NAN, lo = NAN, hi = NAN;
  int n = 0;
  bool measured() const { return n > 0; }
};
Cell cell_of(const std::vector<double>& values);

// "37.77" (two decimals below 100, one below 1000, none above).
std::string number_text(double v);
// "37.77" for one seed, "37.77 ± 0.55 (37.20–38.30)" for several: mean ± half the range (min–max).
std::string cell_text(const Cell& c);

struct ModelResult {
  std::string label;  // "(d) LongLoRA: LoRA+, S²-Attn"
  std::string id;     // "longlora"
  // One run summary per seed (train_seconds, tokens, peak_rss_mb, load_start, load_end, …); empty = not trained.
  std::vector<nlohmann::json> runs;
  std::map<int64_t, std::vector<double>> perplexity;  // context -> one perplexity per seed

  bool trained() const { return !runs.empty(); }
  Cell at(int64_t context) const;
  Cell training(const std::string& field) const;  // a run-summary number over the seeds
};

}  // namespace ll::demo
