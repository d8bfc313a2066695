#include "demo/report.h"

#include <cmath>
#include <cstdio>

#include "core/mapped_file.h"
#include "demo/svg_plot.h"

namespace ll::demo {

using nlohmann::json;

namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string ppl(double v) { return v >= 1000 ? fmt("%.0f", v) : v >= 100 ? fmt("%.1f", v) : fmt("%.2f", v); }

std::string duration(double s) {
  const int t = static_cast<int>(std::lround(s));
  char buf[32];
  if (t >= 60) std::snprintf(buf, sizeof buf, "%dm%02ds", t / 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%ds", t);
  return buf;
}

double at(const ModelResult& m, int64_t ctx) {
  const auto it = m.perplexity.find(ctx);
  return it == m.perplexity.end() ? NAN : it->second;
}

const ModelResult* find(const ReportInputs& in, const std::string& id) {
  for (const ModelResult& m : in.models)
    if (m.id == id) return &m;
  return nullptr;
}

std::string table(const ReportInputs& in) {
  std::string t = "| model |";
  for (int64_t c : in.config.eval_contexts) t += " " + std::to_string(c) + " |";
  t += " training time | peak memory |\n|---|";
  for (size_t i = 0; i < in.config.eval_contexts.size(); ++i) t += "---:|";
  t += "---:|---:|\n";
  for (const ModelResult& m : in.models) {
    t += "| " + m.label + " |";
    for (int64_t c : in.config.eval_contexts) t += " " + ppl(at(m, c)) + " |";
    if (m.training.is_object() && m.training.contains("train_seconds")) {
      t += " " + duration(m.training["train_seconds"].get<double>()) + " | " +
           fmt("%.0f MB", m.training["peak_rss_mb"].get<double>()) + " |\n";
    } else {
      t += " — | — |\n";
    }
  }
  return t;
}

// What the numbers show, against the shape of LongLoRA's Tables 1–2. Each line states the measured
// comparison and whether it holds.
std::vector<std::string> findings(const ReportInputs& in) {
  std::vector<std::string> f;
  const int64_t short_ctx = in.config.eval_contexts.front(), long_ctx = in.config.eval_contexts.back();
  const ModelResult *base = find(in, "base"), *pi = find(in, "pi"), *lora = find(in, "lora"),
                    *plus_full = find(in, "lora-plus-full-attn"), *longlora = find(in, "longlora"),
                    *full = find(in, "full-ft");
  auto mark = [](bool ok) { return ok ? std::string("✓ ") : std::string("✗ "); };
  if (base) {
    const double a = at(*base, short_ctx), b = at(*base, long_ctx);
    f.push_back(mark(b > a) + "The base degrades past its training context: perplexity " + ppl(a) + " at " +
                std::to_string(short_ctx) + " → " + ppl(b) + " at " + std::to_string(long_ctx) + ".");
  }
  if (pi && longlora) {
    const double p = at(*pi, long_ctx), l = at(*longlora, long_ctx);
    f.push_back(mark(p > 1.1 * l) + "Position interpolation alone helps little: " + ppl(p) + " at " +
                std::to_string(long_ctx) + " without training, against " + ppl(l) + " after LongLoRA.");
  }
  if (longlora && plus_full && full) {
    const double l = at(*longlora, long_ctx), p = at(*plus_full, long_ctx), u = at(*full, long_ctx);
    const double spread = std::max({l, p, u}) / std::min({l, p, u}) - 1;
    f.push_back(mark(spread < 0.15) + "LongLoRA ≈ LoRA+ with full attention ≈ full fine-tuning at " +
                std::to_string(long_ctx) + ": " + ppl(l) + " / " + ppl(p) + " / " + ppl(u) + " (spread " +
                fmt("%.0f%%", 100 * spread) + ").");
  }
  if (lora && longlora) {
    const double a = at(*lora, long_ctx), b = at(*longlora, long_ctx);
    f.push_back(mark(a > b) + "Plain LoRA is worse than LoRA+ (trainable embeddings and norms): " + ppl(a) + " vs " +
                ppl(b) + " at " + std::to_string(long_ctx) + ".");
  }
  if (longlora && plus_full && longlora->training.contains("train_seconds") && plus_full->training.contains("train_seconds")) {
    const double s = longlora->training["train_seconds"].get<double>(), fa = plus_full->training["train_seconds"].get<double>();
    f.push_back(mark(s < fa) + "S²-Attn trains faster than full attention on the same budget: " + duration(s) + " vs " +
                duration(fa) + ".");
  }
  return f;
}

// "AMD EPYC, 2 cores" from /proc/cpuinfo.
std::string machine_description() {
  const std::string info = read_text_file("/proc/cpuinfo");
  std::string model = "unknown CPU";
  int cores = 0;
  size_t pos = 0;
  while ((pos = info.find("processor", pos)) != std::string::npos) ++cores, ++pos;
  if (const size_t m = info.find("model name"); m != std::string::npos) {
    const size_t colon = info.find(':', m), end = info.find('\n', m);
    model = info.substr(colon + 2, end - colon - 2);
  }
  return model + ", " + std::to_string(cores) + " logical cores";
}

}  // namespace

std::string summary_text(const ReportInputs& in) {
  std::string s = "\nlonglora demo (" + in.config.name + "): perplexity on held-out books (LongLoRA's protocol)\n\n";
  s += table(in) + "\n";
  for (const std::string& line : findings(in)) s += line + "\n";
  return s;
}

void write_report(const std::string& out_dir, const ReportInputs& in) {
  const DemoConfig& c = in.config;
  const int64_t factor = (c.target_context + c.base_context - 1) / c.base_context;
  std::vector<Series> series;
  for (const ModelResult& m : in.models) {
    Series s{m.label, {}};
    for (const auto& [ctx, p] : m.perplexity) s.points.push_back({static_cast<double>(ctx), p});
    series.push_back(s);
  }
  write_text_file_atomic(out_dir + "/perplexity.svg",
                         svg_line_chart("Perplexity vs context (held-out books)", "context (tokens)",
                                        "perplexity (log scale)", series));

  std::string r = "# LongLoRA at small scale: the King James Bible\n\n";
  r += "Generated by `longlora demo" + std::string(c.name == "quick" ? " --quick" : "") +
       "`; every number below comes from the runs in `cache/` (" + duration(in.pipeline_seconds) +
       " of computation on this machine).\n\n";
  r += "## Perplexity\n\n" + table(in) + "\n![perplexity vs context](perplexity.svg)\n\n";
  r += "## What it shows\n\nLongLoRA's Tables 1–2 predict: the base degrades past its training context, position "
       "interpolation alone helps little, LongLoRA ≈ LoRA+ with full attention ≈ full fine-tuning, and plain LoRA is "
       "worse than LoRA+. Here:\n\n";
  for (const std::string& line : findings(in)) r += "- " + line + "\n";
  r += "\n## Setup\n\n";
  r += "- Corpus: the King James Bible (Debian's bible-kjv), its " + std::to_string(in.corpus.value("train_books", 0)) +
       " training books as documents (" + fmt("%.2f", in.corpus.value("train_chars", 0) / 1e6) +
       " M characters); held out for evaluation: ";
  for (size_t i = 0; i < c.eval_books.size(); ++i) r += (i ? ", " : "") + c.eval_books[i];
  r += " (" + std::to_string(in.tokenizer.value("eval_tokens", 0)) + " tokens).\n";
  r += "- Tokenizer: SentencePiece BPE, " + std::to_string(c.vocab) + " pieces, trained on the training books.\n";
  r += "- Base model: LLaMA, hidden " + std::to_string(c.hidden) + ", " + std::to_string(c.layers) + " layers, " +
       std::to_string(c.heads) + " heads (" + std::to_string(c.kv_heads) + " KV heads), FFN " + std::to_string(c.ffn) + ", RoPE theta " + fmt("%g", c.rope_theta) +
       ", pre-trained from scratch by `longlora train --full` at context " + std::to_string(c.base_context) + ": " +
       std::to_string(in.base.value("steps", 0)) + " steps of " + std::to_string(c.pretrain_batch) + " rows (" +
       fmt("%.2f", in.base.value("tokens", 0) / 1e6) + " M tokens), final training loss " +
       fmt("%.3f", in.base.value("final_loss", 0.0)) + ", " + duration(in.base.value("train_seconds", 0.0)) + ", peak " +
       fmt("%.0f MB", in.base.value("peak_rss_mb", 0.0)) + ".\n";
  r += "- Context extension to " + std::to_string(c.target_context) + " (" + std::to_string(factor) +
       "×, linear position interpolation factor " + std::to_string(factor) + "): each run starts from the base with " +
       std::to_string(c.extend_steps) + " steps of " + std::to_string(c.extend_batch) + " × " +
       std::to_string(c.target_context) + " tokens; LoRA r 8, alpha 16 on q/k/v/o; LoRA runs at lr " +
       fmt("%g", c.lora_lr) + ", full fine-tuning at " + fmt("%g", c.full_lr) + "; S²-Attn with group ratio 1/4.\n";
  r += "- Evaluation: LongLoRA's eval.py protocol (windows every 256 tokens), the first " +
       std::to_string(c.eval_windows) + " windows per context, perplexity = exp(mean window loss).\n";
  r += "- Compute precision: " + in.dtype + " GEMM inputs with f32 accumulation.\n";
  r += "- Machine: " + machine_description() + ".\n";
  write_text_file_atomic(out_dir + "/report.md", r);

  json results = json::array();
  for (const ModelResult& m : in.models) {
    json p = json::object();
    for (const auto& [ctx, v] : m.perplexity) p[std::to_string(ctx)] = v;
    results.push_back({{"id", m.id}, {"label", m.label}, {"perplexity", p}, {"training", m.training}});
  }
  write_text_file_atomic(out_dir + "/results.json", json{{"config", c.json()}, {"models", results}}.dump(2) + "\n");
}

}  // namespace ll::demo
