// The demo's findings on synthetic result tables: each claim holds on a table built to satisfy it,
// fails on one built to break it, and is "within seed noise" when the seeds straddle its threshold.
#include "demo/findings.h"

#include <gtest/gtest.h>

namespace ll::demo {
namespace {

using nlohmann::json;

// A model's perplexities at 256 and 2048, one value per seed.
ModelResult model(const std::string& id, std::vector<double> at256, std::vector<double> at2048) {
  ModelResult m;
  m.id = id;
  m.label = "(" + id + ") " + id;
  m.perplexity[256] = std::move(at256);
  m.perplexity[2048] = std::move(at2048);
  return m;
}

// Training runs: one summary per seed, 122,880 tokens each, on a machine at `load`.
ModelResult trained(ModelResult m, const std::vector<double>& seconds, double load = 2.1) {
  for (double s : seconds)
    m.runs.push_back(json{{"train_seconds", s}, {"tokens", 122880}, {"load_start", load}, {"load_end", load},
                           {"threads", 2}});
  return m;
}

FindingsInput input(std::vector<ModelResult> models) {
  FindingsInput in;
  in.models = std::move(models);
  in.base_context = 256;
  in.target_context = 2048;
  return in;
}

// Every claim holds, beyond the spread of three seeds.
FindingsInput table_where_all_hold() {
  return input({model("base", {32.0}, {40.0}), model("pi", {70.0}, {60.0}),
                trained(model("lora", {33.3, 33.4, 33.5}, {31.5, 31.6, 31.7}), {19, 19.5, 20}),
                trained(model("lora-plus-full-attn", {33.0, 33.1, 33.2}, {29.5, 29.6, 29.7}), {28, 28.5, 29}),
                trained(model("longlora", {33.0, 33.1, 33.2}, {30.0, 30.1, 30.2}), {19, 19.5, 20}),
                trained(model("full-ft", {33.0, 33.1, 33.2}, {29.8, 29.9, 30.0}), {19, 19.5, 20})});
}

// Every claim fails: the base barely degrades, PI is as good as training, the trained models lose
// to the base at 2048 and at 256, LongLoRA trails full attention by 9% and plain LoRA beats it, and
// S²-Attn is slower.
FindingsInput table_where_all_fail() {
  return input({model("base", {32.0}, {32.5}), model("pi", {40.0}, {33.0}),
                trained(model("lora", {38.0, 38.1, 38.2}, {35.0, 35.1, 35.2}), {30, 31, 32}),
                trained(model("lora-plus-full-attn", {38.0, 38.1, 38.2}, {33.0, 33.1, 33.2}), {28, 28.5, 29}),
                trained(model("longlora", {38.0, 38.1, 38.2}, {36.0, 36.1, 36.2}), {30, 31, 32}),
                trained(model("full-ft", {38.0, 38.1, 38.2}, {34.0, 34.1, 34.2}), {30, 31, 32})});
}

std::vector<Verdict> verdicts(const FindingsInput& in) {
  std::vector<Verdict> v;
  for (const Finding& f : evaluate_findings(in)) v.push_back(f.verdict);
  return v;
}

TEST(DemoFindings, EachHoldsOnATableBuiltToSatisfyIt) {
  const std::vector<Finding> f = evaluate_findings(table_where_all_hold());
  ASSERT_EQ(f.size(), 7u);
  for (size_t i = 0; i < f.size(); ++i) {
    EXPECT_EQ(f[i].number, static_cast<int>(i) + 1);
    EXPECT_EQ(f[i].verdict, Verdict::Holds) << finding_text(f[i]);
    EXPECT_EQ(finding_text(f[i]).rfind("✓ (" + std::to_string(i + 1) + ") ", 0), 0u) << finding_text(f[i]);
  }
  // The text carries the numbers it used: means, seed ranges, the difference and the threshold.
  EXPECT_NE(finding_text(f[3]).find("(d) 30.10 ± 0.10 (30.00–30.20) vs (c) 29.60 ± 0.10 (29.50–29.70) (+1.7%; threshold ≤ +3.0%)"),
            std::string::npos)
      << finding_text(f[3]);
  EXPECT_NE(finding_text(f[0]).find("32.00 at 256 → 40.00 at 2048 (+25.0%; threshold ≥ +5.0%)"), std::string::npos)
      << finding_text(f[0]);
}

TEST(DemoFindings, EachFailsOnATableBuiltToBreakIt) {
  const std::vector<Finding> f = evaluate_findings(table_where_all_fail());
  ASSERT_EQ(f.size(), 7u);
  for (const Finding& x : f) {
    EXPECT_EQ(x.verdict, Verdict::Fails) << finding_text(x);
    EXPECT_EQ(finding_text(x).rfind("✗ (", 0), 0u) << finding_text(x);
  }
}

TEST(DemoFindings, AThresholdInsideTheSeedSpreadIsNotShown) {
  FindingsInput in = table_where_all_hold();
  // LongLoRA's mean is within 3% of full attention's, its worst seed is not; plain LoRA's best seed
  // overlaps LoRA+'s worst.
  in.models[4].perplexity[2048] = {29.5, 30.0, 31.5};
  in.models[2].perplexity[2048] = {30.5, 31.0, 33.0};
  const std::vector<Verdict> v = verdicts(in);
  EXPECT_EQ(v[3], Verdict::WithinNoise);
  EXPECT_EQ(v[4], Verdict::WithinNoise);
  EXPECT_EQ(finding_text(evaluate_findings(in)[3]).rfind("✗ within seed noise: (4) ", 0), 0u);
  // One seed each: no spread, so the same means give a verdict.
  for (ModelResult& m : in.models)
    for (auto& [ctx, seeds] : m.perplexity) seeds.resize(1);
  EXPECT_NE(verdicts(in)[3], Verdict::WithinNoise);
}

TEST(DemoFindings, SpeedNeedsAQuietMachineAndEveryClaimNeedsItsModels) {
  FindingsInput in = table_where_all_hold();
  for (ModelResult& m : in.models)
    for (json& r : m.runs) r["load_end"] = 3.5;  // another job took a core and a half
  const std::vector<Finding> f = evaluate_findings(in);
  EXPECT_EQ(f[5].verdict, Verdict::NotMeasured);
  EXPECT_NE(finding_text(f[5]).find("– not measured: (6) "), std::string::npos) << finding_text(f[5]);
  EXPECT_NE(finding_text(f[5]).find("load average up to 3.50 on 2 threads"), std::string::npos);

  FindingsInput without = table_where_all_hold();
  without.models.erase(without.models.begin() + 3);  // no (c)
  const std::vector<Verdict> v = verdicts(without);
  EXPECT_EQ(v[3], Verdict::NotMeasured);
  EXPECT_EQ(v[5], Verdict::NotMeasured);
  EXPECT_EQ(v[0], Verdict::Holds);

  FindingsInput failed_eval = table_where_all_hold();
  failed_eval.models[0].perplexity[2048] = {NAN};
  EXPECT_EQ(verdicts(failed_eval)[0], Verdict::NotMeasured);
}

TEST(DemoFindings, QuickRunsGiveNoVerdict) {
  for (FindingsInput in : {table_where_all_hold(), table_where_all_fail()}) {
    in.meaningful = false;
    for (const Finding& f : evaluate_findings(in)) {
      EXPECT_EQ(f.verdict, Verdict::NotMeaningful);
      const std::string t = finding_text(f);
      EXPECT_EQ(t.rfind("– not meaningful at this size: ", 0), 0u) << t;
      EXPECT_EQ(t.find("✓"), std::string::npos);
      EXPECT_EQ(t.find("✗"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace ll::demo
