// longlora passkey: LongLoRA's passkey-retrieval accuracy per prompt length (DESIGN.md §2).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/model_flags.h"
#include "core/progress.h"
#include "core/mapped_file.h"
#include "eval/passkey.h"
#include "model/sliding_window.h"

namespace ll::cli {

int run_passkey(int argc, char** argv) {
  Args args("passkey", "Passkey retrieval accuracy per prompt length (passkey_retrivial.py's protocol).");
  add_model_flags(args, {.context = true, .adapter = true});
  args.option("--max-tokens", "32000", "longest prompt length of the schedule (tokens, roughly)", "N")
      .option("--interval", "1000", "step between prompt lengths", "N")
      .option("--num-tests", "10", "seeded prompts per length (seeds 0..N-1)", "N")
      .option("--json", "", "also write the results as JSON to this file", "FILE");
  if (!args.parse(argc, argv)) return 0;
  apply_thread_flag(args);
  const int64_t max_tokens = args.integer("--max-tokens"), interval = args.integer("--interval");
  const int64_t num_tests = args.integer("--num-tests");
  if (interval < 1 || max_tokens < interval)
    fail_input("longlora passkey", "need --interval ≥ 1 and --max-tokens ≥ --interval");
  if (num_tests < 1) fail_expected("longlora passkey", "--num-tests", "≥ 1", std::to_string(num_tests));
  auto model = open_model(args, /*training=*/false, {.context = true, .adapter = true});
  check_sliding_window(*model, max_tokens, "passkey up to --max-tokens " + std::to_string(max_tokens));
  auto tok = load_tokenizer(model->files());

  nlohmann::json results = nlohmann::json::array();
  std::printf("%10s %12s %10s\n", "tokens", "filler chars", "accuracy");
  for (int64_t i = 0; i < max_tokens / interval; ++i) {
    const int64_t n_garbage = passkey_garbage_chars(i, interval);
    int64_t correct = 0, tokens = 0;
    nlohmann::json trials = nlohmann::json::array();
    ProgressLine bar;
    const std::string label = "passkey " + std::to_string(n_garbage) + " chars";
    for (int64_t s = 0; s < num_tests; ++s) {
      const PasskeyTrial t = run_passkey_trial(*model, *tok, n_garbage, static_cast<uint64_t>(s));
      correct += t.correct;
      tokens += t.prompt_tokens;
      trials.push_back({{"seed", t.seed}, {"tokens", t.prompt_tokens}, {"answer", t.answer},
                        {"model_answer", t.model_answer}, {"correct", t.correct}});
      bar.count(label, s + 1, num_tests, "prompts");
    }
    bar.finish();
    const double accuracy = static_cast<double>(correct) / static_cast<double>(num_tests);
    std::printf("%10lld %12lld %10.2f\n", static_cast<long long>(tokens / num_tests), static_cast<long long>(n_garbage),
                accuracy);
    std::fflush(stdout);
    results.push_back({{"tokens", tokens / num_tests}, {"filler_chars", n_garbage}, {"accuracy", accuracy}, {"trials", trials}});
  }
  if (args.has("--json")) {
    const nlohmann::json out = {{"model", args.str("--model")}, {"adapter", args.str("--adapter")},
                                {"rope_factor", model->config().rope_factor}, {"results", results}};
    write_text_file_atomic(args.str("--json"), out.dump(2) + "\n");
  }
  return 0;
}

}  // namespace ll::cli
