// longlora eval: perplexity at one or more context lengths (LongLoRA's eval.py protocol by
// default), for a base model or base + trained run; a table on stdout and JSON.
//
// The RoPE factor, per evaluated context: --rope-factor when given, else the factor the --adapter
// run trained with (its train_config.json), else the model's own when its config carries one
// (rope_scaling), else LongLoRA's eval.py rule for that context: ceil(context / trained context)
// past the trained context (max_position_embeddings; model/position_interpolation.h), 1 within it.
//
// Under mpirun every rank evaluates its share of the windows (eval/perplexity.h); rank 0 alone
// prints and writes --json.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/model_flags.h"
#include "core/progress.h"
#include "core/mapped_file.h"
#include "dist/communicator.h"
#include "eval/perplexity.h"
#include "formats/token_file.h"
#include "model/adapter.h"
#include "model/position_interpolation.h"
#include "model/sliding_window.h"

namespace ll::cli {

namespace {

// The evaluation stream: a token file (.bin, LongLoRA's headerless uint16 or --token-dtype u32)
// as it is, or a text file tokenised as one document (BOS + text) by the model's tokenizer (only
// text needs one).
std::vector<int32_t> load_eval_tokens(const std::string& path, const std::string& token_dtype,
                                      const LlamaModel& model) {
  if (std::filesystem::path(path).extension() == ".bin") {
    const TokenFile f =
        open_token_file(path, parse_token_dtype(token_dtype, "--token-dtype"), model.config().vocab_size);
    std::vector<int32_t> ids(static_cast<size_t>(f.size()));
    f.read(0, f.size(), ids.data());
    return ids;
  }
  return load_tokenizer(model.files())->encode(read_text_file(path), /*add_bos=*/true);
}

// The factor every context runs at, when something fixes one (see the top); 0 when each context
// takes its own.
double fixed_rope_factor(const Args& args, const LlamaModel& model) {
  if (args.number("--rope-factor") > 0) return args.number("--rope-factor");
  if (args.has("--adapter")) {
    const double trained_with = locate_adapter(args.str("--adapter")).rope_factor;
    if (trained_with > 0) return trained_with;
  }
  const double own = model.files().config().rope_factor;
  return own != 1.0 ? own : 0.0;
}

}  // namespace

int run_eval(int argc, char** argv) {
  Communicator& comm = world();
  Args args("eval", "Perplexity of a model (optionally with a trained adapter) at one or more context lengths.");
  add_model_flags(args, {.context = false, .adapter = true});
  args.option("--data", "", "token file (.bin: LongLoRA's uint16 format) or text file", "FILE")
      .option("--context", "", "comma-separated evaluation lengths, e.g. 2048,4096,8192", "N,N")
      .option("--protocol", "longlora", "longlora (windows every 256 tokens, eval.py) | non-overlapping | strided", "P")
      .option("--sliding-window", "256", "longlora protocol: tokens between window starts", "N")
      .option("--stride", "512", "strided protocol: tokens between window starts", "N")
      .option("--batch-size", "1", "windows per forward pass", "N")
      .option("--max-windows", "0", "evaluate only the first N windows per length (0 = all)", "N")
      .option("--token-dtype", "u16", "element type of .bin token files: u16|u32", "T")
      .option("--json", "", "also write the results as JSON to this file", "FILE");
  if (!args.parse(argc, argv)) return 0;
  apply_thread_flag(args);
  const std::vector<long long> lengths = args.integer_list("--context");
  if (lengths.empty()) fail_input("longlora eval", "missing required option --context (evaluation lengths)");
  auto model = open_model(args, /*training=*/false, {.context = false, .adapter = true});
  check_sliding_window(*model, *std::max_element(lengths.begin(), lengths.end()),
                       "eval at context " + std::to_string(*std::max_element(lengths.begin(), lengths.end())));
  const std::vector<int32_t> tokens = load_eval_tokens(args.required("--data"), args.str("--token-dtype"), *model);
  const double fixed_factor = fixed_rope_factor(args, *model);

  PerplexityOptions base;
  base.protocol = parse_protocol(args.str("--protocol"));
  base.sliding_window = args.integer("--sliding-window");
  base.stride = args.integer("--stride");
  base.batch_size = args.integer("--batch-size");
  base.max_windows = args.integer("--max-windows");
  if (base.sliding_window < 1 || base.stride < 1)
    fail_input("longlora eval", "--sliding-window and --stride must be ≥ 1");

  std::FILE* const out = comm.is_root() ? stdout : nullptr;
  std::FILE* const log = comm.is_root() ? stderr : nullptr;
  if (log)
    std::fprintf(log, "eval: %s, %zu tokens, protocol %s, %s%s%s\n", args.str("--data").c_str(), tokens.size(),
                 protocol_name(base.protocol), precision_name(model->precision()),
                 args.has("--adapter") ? (", adapter " + args.str("--adapter")).c_str() : "",
                 comm.ranks() > 1 ? (", " + std::to_string(comm.ranks()) + " ranks").c_str() : "");
  nlohmann::json results = nlohmann::json::array();
  if (out)
    std::fprintf(out, "%10s %6s %9s %12s %10s %12s %9s\n", "context", "rope", "windows", "predictions", "loss",
                 "perplexity", "seconds");
  for (long long L : lengths) {
    const double factor = fixed_factor > 0 ? fixed_factor : interpolation_factor(model->files().config(), L);
    model->set_rope_factor(factor);
    PerplexityOptions o = base;
    o.seq_len = L;
    ProgressLine bar(log);
    const auto progress = [&](int64_t done, int64_t total) {
      bar.count("eval " + std::to_string(L), done, total, "windows");
    };
    const PerplexityResult r = evaluate_perplexity(*model, tokens, o, progress, comm);
    bar.finish();
    if (out) {
      std::fprintf(out, "%10lld %6g %9lld %12lld %10.4f %12.3f %9.1f\n", L, factor, static_cast<long long>(r.windows),
                   static_cast<long long>(r.predictions), r.mean_loss, r.perplexity, r.seconds);
      std::fflush(out);
    }
    results.push_back({{"context", L},
                       {"rope_factor", factor},
                       {"windows", r.windows},
                       {"predictions", r.predictions},
                       {"loss", r.mean_loss},
                       {"perplexity", r.perplexity},
                       {"seconds", r.seconds}});
  }
  if (args.has("--json") && comm.is_root()) {
    const nlohmann::json out = {{"model", args.str("--model")},
                                {"adapter", args.str("--adapter")},
                                {"data", args.str("--data")},
                                {"tokens", tokens.size()},
                                {"protocol", protocol_name(base.protocol)},
                                {"dtype", precision_name(model->precision())},
                                {"results", results}};
    write_text_file_atomic(args.str("--json"), out.dump(2) + "\n");
  }
  return 0;
}

}  // namespace ll::cli
