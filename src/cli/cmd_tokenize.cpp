// longlora tokenize: token ids of a text, one line, space-separated.
#include <cstdio>

#include "cli/commands.h"
#include "cli/model_flags.h"
#include "core/mapped_file.h"

namespace ll::cli {

int run_tokenize(int argc, char** argv) {
  Args args("tokenize", "Print the token ids of a text (one line, space-separated).");
  args.option("--model", "", "HF model directory or .gguf file (its tokenizer)", "PATH")
      .option("--tokenizer", "", "a tokenizer.model, tokenizer.json or .gguf file (or a directory) instead of --model",
              "FILE")
      .option("--text", "", "the text", "TEXT")
      .option("--file", "", "read the text from a file", "FILE")
      .flag("--bos", "prepend BOS")
      .flag("--eos", "append EOS");
  if (!args.parse(argc, argv)) return 0;
  if (args.has("--model") == args.has("--tokenizer"))
    fail_input("longlora tokenize", "give exactly one of --model or --tokenizer");
  if (args.given("--text") == args.has("--file")) fail_input("longlora tokenize", "give exactly one of --text or --file");

  std::unique_ptr<Tokenizer> tok;
  if (args.has("--tokenizer")) {
    tok = load_tokenizer(args.str("--tokenizer"));
  } else {
    auto files = ModelFiles::open(args.str("--model"));
    tok = load_tokenizer(*files);
  }
  const std::string text = args.has("--file") ? read_text_file(args.str("--file")) : args.str("--text");
  const std::vector<int32_t> ids = tok->encode(text, args.enabled("--bos"), args.enabled("--eos"));
  std::string line;
  for (size_t i = 0; i < ids.size(); ++i) line += (i ? " " : "") + std::to_string(ids[i]);
  std::printf("%s\n", line.c_str());
  return 0;
}

}  // namespace ll::cli
