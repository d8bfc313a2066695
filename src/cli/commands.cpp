#include "cli/commands.h"

#include "core/error.h"

namespace ll::cli {

namespace {
struct Command {
  const char* name;
  int (*run)(int, char**);
  const char* summary;
};
const Command kCommands[] = {
    {"info", run_info, "architecture, parameters, rope scaling, memory plan for a context"},
    {"generate", run_generate, "continue a prompt (greedy or sampled), streaming to stdout"},
    {"tokenize", run_tokenize, "print the token ids of a text"},
    {"train", run_train, "continued pre-training with LoRA+ and S2-Attn (LongLoRA's fine-tune.py)"},
    {"sft", run_sft, "supervised fine-tuning on LongAlpaca JSON (LongLoRA's supervised-fine-tune.py)"},
    {"eval", run_eval, "perplexity at several context lengths (LongLoRA's eval.py protocol)"},
    {"passkey", run_passkey, "passkey-retrieval accuracy per prompt length"},
    {"demo", run_demo, "LongLoRA's claims at small scale on the King James Bible: report.md + perplexity.svg"},
    {"init", run_init, "a freshly initialised LLaMA to pre-train from scratch (train --full)"},
    {"merge", run_merge, "base + trained run -> HF model directory (rope scaling recorded)"},
    {"export", run_export, "trained run -> llama.cpp GGUF adapter and/or merged GGUF model"},
};
}  // namespace

std::string usage() {
  std::string u =
      "longlora: extend the context of LLaMA models the LongLoRA way\n\n"
      "usage: longlora <command> [options]   (longlora <command> --help for its options)\n\ncommands:\n";
  for (const auto& c : kCommands) {
    std::string name = "  " + std::string(c.name);
    name.resize(14, ' ');
    u += name + c.summary + "\n";
  }
  return u;
}

int dispatch(const std::string& command, int argc, char** argv) {
  for (const auto& c : kCommands)
    if (command == c.name) return c.run(argc, argv);
  fail_input("longlora", "unknown command '" + command + "' (see longlora --help)");
}

}  // namespace ll::cli
