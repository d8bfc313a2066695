// longlora init: a freshly initialised LLaMA (HF directory) to pre-train from scratch with
// `longlora train --full`, sized by flags, with the vocabulary of a given tokenizer.
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "cli/model_flags.h"
#include "model/init_weights.h"
#include "model/llama_model.h"

namespace ll::cli {

int run_init(int argc, char** argv) {
  Args args("init", "Write a freshly initialised LLaMA (HF directory) to pre-train from scratch.");
  args.option("--out", "", "the HF directory to write", "DIR")
      .option("--tokenizer", "", "tokenizer.model or tokenizer.json whose vocabulary the model gets (copied into DIR)",
              "FILE")
      .option("--hidden", "256", "hidden size", "N")
      .option("--layers", "4", "decoder layers", "N")
      .option("--heads", "4", "attention heads", "N")
      .option("--kv-heads", "0", "key/value heads (0 = --heads; fewer = GQA)", "N")
      .option("--ffn", "0", "MLP width (0 = LLaMA's: 2/3·4·hidden rounded up to a multiple of 64)", "N")
      .option("--context", "256", "max_position_embeddings: the context it will be trained at", "N")
      .option("--rope-theta", "10000", "RoPE base", "F")
      .option("--dtype", "f32", "weight dtype f32|f16|bf16", "T")
      .option("--seed", "1", "initialisation seed", "S")
      .flag("--tie", "tie the embedding and lm_head");
  if (!args.parse(argc, argv)) return 0;
  const std::string out = args.required("--out");
  const std::string tokenizer_path = args.required("--tokenizer");
  auto tok = load_tokenizer(tokenizer_path);
  const std::vector<TokenizerFile> tokenizer = tokenizer_files(tokenizer_path);
  LlamaConfig c;
  c.hidden_size = args.integer("--hidden");
  c.num_layers = args.integer("--layers");
  c.num_heads = args.integer("--heads");
  c.num_kv_heads = args.integer("--kv-heads") > 0 ? args.integer("--kv-heads") : c.num_heads;
  c.head_dim = c.num_heads > 0 ? c.hidden_size / c.num_heads : 0;
  const int64_t llama_ffn = (2 * 4 * c.hidden_size / 3 + 63) / 64 * 64;
  c.intermediate_size = args.integer("--ffn") > 0 ? args.integer("--ffn") : llama_ffn;
  c.vocab_size = tok->vocab_size();
  c.max_position_embeddings = args.integer("--context");
  c.rope_theta = args.number("--rope-theta");
  c.tie_word_embeddings = args.enabled("--tie");
  c.bos_token_id = tok->bos_id();
  c.eos_token_id = tok->eos_id();
  DType dtype;
  if (!parse_dtype(args.str("--dtype"), &dtype) || dtype == DType::I32)
    fail_expected("longlora init", "--dtype", "f32, f16 or bf16", args.str("--dtype"));
  if (c.num_heads <= 0 || c.hidden_size % c.num_heads != 0)
    fail_input("longlora init", "--heads must divide --hidden");
  write_initialized_llama(out, c, static_cast<uint64_t>(args.integer("--seed")), dtype);
  for (const TokenizerFile& file : tokenizer)
    std::filesystem::copy_file(file.source, out + "/" + file.name, std::filesystem::copy_options::overwrite_existing);
  std::fprintf(stderr, "wrote %s: %lld parameters (hidden %lld, %lld layers, %lld/%lld heads, FFN %lld, vocab %lld)\n",
               out.c_str(), static_cast<long long>(parameter_count(c)), static_cast<long long>(c.hidden_size),
               static_cast<long long>(c.num_layers), static_cast<long long>(c.num_heads),
               static_cast<long long>(c.num_kv_heads), static_cast<long long>(c.intermediate_size),
               static_cast<long long>(c.vocab_size));
  return 0;
}

}  // namespace ll::cli
