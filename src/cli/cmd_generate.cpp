// longlora generate: continue a prompt, streaming the new text to stdout.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/model_flags.h"
#include "core/mapped_file.h"
#include "eval/generate.h"
#include "model/sliding_window.h"
#include "text/prompt_template.h"
#include "text/stream_decoder.h"

namespace ll::cli {

int run_generate(int argc, char** argv) {
  Args args("generate", "Continue a prompt with the model; the continuation streams to stdout.");
  add_model_flags(args, {.context = true, .adapter = true});
  add_kv_cache_flag(args);
  args.option("--prompt", "", "prompt text (\"\" = start from BOS alone)", "TEXT")
      .option("--prompt-file", "", "read the prompt from a file", "FILE")
      .option("--max-tokens", "256", "new tokens at most", "N")
      .alias("-n", "--max-tokens")
      .flag("--greedy", "always take the most likely token")
      .option("--temperature", "0.8", "sampling temperature", "T")
      .option("--top-p", "0.95", "nucleus sampling mass", "P")
      .option("--seed", "1234", "sampling seed", "S")
      .option("--question", "", "ask this about the prompt (the material), in LongLoRA's inference.py template "
                                "[INST]{material}\n{question}[/INST]", "TEXT")
      .flag("--no-bos", "do not prepend BOS to the prompt")
      .flag("--stats", "print prompt and generation speed to stderr")
      .option("--json", "", "also write the prompt and new token ids, the text and the rope factor to this JSON file",
              "FILE");
  if (!args.parse(argc, argv)) return 0;
  apply_thread_flag(args);
  if (args.given("--prompt") == args.has("--prompt-file"))
    fail_input("longlora generate", "give exactly one of --prompt or --prompt-file");

  auto model = open_model(args, /*training=*/false, {.context = true, .adapter = true});
  auto tok = load_tokenizer(model->files());
  std::string text = args.has("--prompt-file") ? read_text_file(args.str("--prompt-file")) : args.str("--prompt");
  if (args.has("--question")) text = question_prompt(text, args.str("--question"));
  std::vector<int32_t> prompt = tok->encode(text, !args.enabled("--no-bos"));
  if (prompt.empty())
    fail_input("longlora generate", args.enabled("--no-bos") ? "empty prompt with --no-bos: nothing to continue"
                                                             : "empty prompt and a tokenizer without BOS: nothing to continue");

  GenerateOptions opts;
  opts.max_new_tokens = args.integer("--max-tokens");
  if (opts.max_new_tokens < 0) fail_expected("longlora generate", "--max-tokens", "a count ≥ 0", args.str("--max-tokens"));
  // The last new token is sampled from the positions before it: the longest span is prompt + n − 1.
  check_sliding_window(*model, static_cast<int64_t>(prompt.size()) + std::max<int64_t>(opts.max_new_tokens - 1, 0),
                       "a " + std::to_string(prompt.size()) + "-token prompt with --max-tokens " +
                           std::to_string(opts.max_new_tokens));
  opts.kv_cache = kv_cache_dtype(args, model->precision());
  opts.sampling.greedy = args.enabled("--greedy");
  opts.sampling.temperature = static_cast<float>(args.number("--temperature"));
  opts.sampling.top_p = static_cast<float>(args.number("--top-p"));
  opts.sampling.seed = static_cast<uint64_t>(args.integer("--seed"));

  StreamingDecoder decoder(*tok, prompt);
  GenerateStats stats;
  std::string text_out;
  auto show = [&](const std::string& piece) {
    std::fputs(piece.c_str(), stdout);
    std::fflush(stdout);
    text_out += piece;
  };
  const std::vector<int32_t> ids = generate(
      *model, prompt, opts,
      [&](int32_t id) {
        if (id != tok->eos_id()) show(decoder.push(id));
      },
      &stats);
  show(decoder.finish());
  std::fputs("\n", stdout);
  if (args.has("--json")) {
    const nlohmann::json out = {{"model", args.str("--model")},
                                {"adapter", args.str("--adapter")},
                                {"rope_factor", model->config().rope_factor},
                                {"greedy", opts.sampling.greedy},
                                {"prompt_tokens", prompt},
                                {"tokens", ids},
                                {"text", text_out},
                                {"stopped_at_eos", stats.stopped_at_eos}};
    write_text_file_atomic(args.str("--json"), out.dump(2) + "\n");
  }
  if (args.enabled("--stats")) {
    std::fprintf(stderr, "prompt: %lld tokens, %.1f tokens/s; generated: %lld tokens, %.1f tokens/s%s\n",
                 static_cast<long long>(stats.prompt_tokens), stats.prompt_tokens / std::max(stats.prompt_seconds, 1e-9),
                 static_cast<long long>(stats.new_tokens), stats.new_tokens / std::max(stats.generate_seconds, 1e-9),
                 stats.stopped_at_eos ? " (stopped at EOS)" : "");
  }
  return 0;
}

}  // namespace ll::cli
