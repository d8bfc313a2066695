#include "demo/findings.h"

#include <algorithm>
#include <cstdio>

namespace ll::demo {

namespace {

// The thresholds; docs/demo.md gives the reason for each.
constexpr double kBaseDegrades = 1.05;    // (1) base at the target context ≥ 5% above its own context
constexpr double kPiFarWorse = 1.25;      // (2) PI alone ≥ 25% above every trained extension
constexpr double kLongLoraWithin = 1.03;  // (4) LongLoRA ≤ 3% above LoRA+ with full attention
constexpr double kLoraPlusMargin = 1.03;  // (5) plain LoRA ≥ 3% above LoRA+
constexpr double kS2Faster = 0.90;        // (6) S²-Attn's time per token ≤ 90% of full attention's
constexpr double kShortCost = 1.05;       // (7) a trained model ≤ 5% above the base at the base context
constexpr double kQuietLoad = 0.75;       // (6) load average above threads + 0.75: other work shared the cores

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string percent(double ratio) { return fmt("%+.1f%%", 100 * (ratio - 1)); }

// The claim a ≤ factor·b, beyond the seeds' spread.
Verdict at_most(const Cell& a, const Cell& b, double factor) {
  if (!a.measured() || !b.measured()) return Verdict::NotMeasured;
  if (a.hi <= factor * b.lo) return Verdict::Holds;
  if (a.lo > factor * b.hi) return Verdict::Fails;
  return Verdict::WithinNoise;
}

// A claim over several models holds when it holds for each.
Verdict all_of(const std::vector<Verdict>& parts) {
  if (parts.empty()) return Verdict::NotMeasured;
  for (Verdict v : {Verdict::NotMeasured, Verdict::Fails, Verdict::WithinNoise})
    if (std::find(parts.begin(), parts.end(), v) != parts.end()) return v;
  return Verdict::Holds;
}

std::string short_name(const ModelResult& m) {
  const size_t close = m.label.find(')');
  return close == std::string::npos ? m.id : m.label.substr(0, close + 1);
}

const ModelResult* find(const FindingsInput& in, const std::string& id) {
  for (const ModelResult& m : in.models)
    if (m.id == id) return &m;
  return nullptr;
}

class Findings {
 public:
  explicit Findings(const FindingsInput& in)
      : in_(in), B_(std::to_string(in.base_context)), T_(std::to_string(in.target_context)) {
    for (const ModelResult& m : in.models)
      if (m.trained()) trained_.push_back(&m);
  }

  std::vector<Finding> all() {
    std::vector<Finding> f = {base_degrades(), pi_far_worse(), extensions_use_context(), longlora_close(),
                              lora_plus_better(), s2_faster(), short_context_cost()};
    if (!in_.meaningful)
      for (Finding& x : f) x.verdict = Verdict::NotMeaningful;
    return f;
  }

 private:
  Finding missing(int n, const std::string& claim, const std::string& what) const {
    return {n, claim, Verdict::NotMeasured, "needs " + what};
  }

  Finding base_degrades() const {
    const std::string claim = "The base degrades past its trained context";
    const ModelResult* base = find(in_, "base");
    if (!base) return missing(1, claim, "the base model's perplexities");
    const Cell s = base->at(in_.base_context), l = base->at(in_.target_context);
    return {1, claim, at_most(s, l, 1 / kBaseDegrades),
            cell_text(s) + " at " + B_ + " → " + cell_text(l) + " at " + T_ + " (" + percent(l.mean / s.mean) +
                "; threshold ≥ " + percent(kBaseDegrades) + ")"};
  }

  Finding pi_far_worse() const {
    const std::string claim =
        "Position interpolation alone, untrained, is far worse than every trained extension at " + T_;
    const ModelResult* pi = find(in_, "pi");
    if (!pi || trained_.empty()) return missing(2, claim, "the PI model and trained extensions");
    const Cell p = pi->at(in_.target_context);
    std::vector<Verdict> parts;
    std::string d = "PI " + cell_text(p) + " vs";
    for (const ModelResult* m : trained_) {
      const Cell t = m->at(in_.target_context);
      parts.push_back(at_most(t, p, 1 / kPiFarWorse));
      d += " " + short_name(*m) + " " + cell_text(t) + ",";
    }
    d.back() = ' ';
    return {2, claim, all_of(parts), d + "(threshold: PI ≥ " + percent(kPiFarWorse) + " above each)"};
  }

  Finding extensions_use_context() const {
    const std::string claim = "Every trained extension beats the base (no interpolation) at " + T_ +
                              " and is better at " + T_ + " than at " + B_;
    const ModelResult* base = find(in_, "base");
    if (!base || trained_.empty()) return missing(3, claim, "the base and trained extensions");
    const Cell b = base->at(in_.target_context);
    std::vector<Verdict> parts;
    std::string d = "base " + cell_text(b) + " at " + T_ + ";";
    for (const ModelResult* m : trained_) {
      const Cell t = m->at(in_.target_context), s = m->at(in_.base_context);
      parts.push_back(at_most(t, b, 1.0));
      parts.push_back(at_most(t, s, 1.0));
      d += " " + short_name(*m) + " " + cell_text(t) + " at " + T_ + " vs " + cell_text(s) + " at " + B_ + ";";
    }
    d.back() = ' ';
    return {3, claim, all_of(parts), d + "(each lower, every seed)"};
  }

  Finding longlora_close() const {
    const std::string claim = "LongLoRA (S²-Attn training) is within " + percent(kLongLoraWithin).substr(1) +
                              " of LoRA+ with full attention at " + T_;
    const ModelResult *l = find(in_, "longlora"), *f = find(in_, "lora-plus-full-attn");
    if (!l || !f) return missing(4, claim, "runs (c) and (d)");
    const Cell a = l->at(in_.target_context), b = f->at(in_.target_context);
    return {4, claim, at_most(a, b, kLongLoraWithin),
            "(d) " + cell_text(a) + " vs (c) " + cell_text(b) + " (" + percent(a.mean / b.mean) + "; threshold ≤ " +
                percent(kLongLoraWithin) + ")"};
  }

  Finding lora_plus_better() const {
    const std::string claim = "LoRA+ (trainable embeddings and norms) is clearly better than plain LoRA at " + T_ +
                              " (the paper's Table 2 finds a large gap)";
    const ModelResult *lora = find(in_, "lora"), *plus = find(in_, "longlora");
    if (!lora || !plus) return missing(5, claim, "runs (b) and (d)");
    const Cell a = plus->at(in_.target_context), b = lora->at(in_.target_context);
    return {5, claim, at_most(a, b, 1 / kLoraPlusMargin),
            "(b) " + cell_text(b) + " vs (d) " + cell_text(a) + " (LoRA " + percent(b.mean / a.mean) +
                "; threshold ≥ " + percent(kLoraPlusMargin) + ")"};
  }

  Finding s2_faster() const {
    const std::string claim = "S²-Attn's training step is faster than full attention's at the same tokens";
    const ModelResult *s2 = find(in_, "longlora"), *full = find(in_, "lora-plus-full-attn");
    if (!s2 || !full || !s2->trained() || !full->trained()) return missing(6, claim, "training runs (c) and (d)");
    std::vector<double> per_token[2];
    double excess_load = -1e9, worst_load = 0;  // excess: load above the run's own threads
    int threads = 0;
    const ModelResult* pair[2] = {s2, full};
    for (int i = 0; i < 2; ++i)
      for (const nlohmann::json& r : pair[i]->runs) {
        if (!r.contains("train_seconds") || r.value("tokens", 0.0) <= 0 || !r.contains("load_start") ||
            !r.contains("load_end") || !r.contains("threads"))
          return missing(6, claim, "training time, tokens, threads and load average of every run of (c) and (d)");
        per_token[i].push_back(r["train_seconds"].get<double>() / r["tokens"].get<double>());
        const double load = std::max(r["load_start"].get<double>(), r["load_end"].get<double>());
        if (load - r["threads"].get<int>() > excess_load) {
          excess_load = load - r["threads"].get<int>();
          worst_load = load, threads = r["threads"].get<int>();
        }
      }
    const Cell a = cell_of(per_token[0]), b = cell_of(per_token[1]);
    const std::string d = "(d) " + fmt("%.1f", a.mean * 1e6) + " vs (c) " + fmt("%.1f", b.mean * 1e6) +
                          " µs per token (" + percent(a.mean / b.mean) + "; threshold ≤ " + percent(kS2Faster) +
                          "), load average up to " + fmt("%.2f", worst_load) + " on " + std::to_string(threads) +
                          " threads";
    if (excess_load > kQuietLoad)
      return {6, claim, Verdict::NotMeasured, d + ": other work shared the cores, so the times are not the step's"};
    return {6, claim, at_most(a, b, kS2Faster), d};
  }

  Finding short_context_cost() const {
    const std::string claim = "Each trained model keeps the base's quality at " + B_ + " (the short-context cost)";
    const ModelResult* base = find(in_, "base");
    if (!base || trained_.empty()) return missing(7, claim, "the base and trained extensions");
    const Cell b = base->at(in_.base_context);
    std::vector<Verdict> parts;
    std::string d = "base " + cell_text(b) + ";";
    for (const ModelResult* m : trained_) {
      const Cell t = m->at(in_.base_context);
      parts.push_back(at_most(t, b, kShortCost));
      d += " " + short_name(*m) + " " + cell_text(t) + " (" + percent(t.mean / b.mean) + ");";
    }
    d.back() = ' ';
    return {7, claim, all_of(parts), d + "(threshold ≤ " + percent(kShortCost) + " each)"};
  }

  const FindingsInput& in_;
  const std::string B_, T_;
  std::vector<const ModelResult*> trained_;
};

}  // namespace

std::vector<Finding> evaluate_findings(const FindingsInput& in) { return Findings(in).all(); }

std::string finding_text(const Finding& f) {
  static const char* const kMark[] = {"✓", "✗", "✗ within seed noise:", "– not measured:",
                                      "– not meaningful at this size:"};
  return std::string(kMark[static_cast<int>(f.verdict)]) + " (" + std::to_string(f.number) + ") " + f.claim + ": " +
         f.detail + ".";
}

}  // namespace ll::demo
