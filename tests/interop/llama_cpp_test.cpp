// llama.cpp itself (llama-cpp-python 0.3.36 and the llama.cpp it vendors) and gguf-py (llama.cpp's own
// GGUF reader) against longlora's GGUF exports, on the real stories260K model:
//   - greedy generation in llama.cpp equals `longlora generate --greedy` token for token (ids and
//     text, 64 tokens, prompts past the base's trained 512 tokens) for the base GGUF alone, a merged
//     LoRA+ run (`export --merged-gguf`, its RoPE factor read from the file) and base + a LoRA adapter
//     (`export --gguf`, the run's factor given as llama.cpp's rope_freq_scale);
//   - every GGUF longlora writes (adapter f32/bf16, merged model f32/f16/bf16) reads back through
//     GGUFReader as llama.cpp's converters would write it (gguf_check.py);
//   - `longlora info` on the base GGUF agrees with GGUFReader and llama.cpp.
// Both sides run f32 weights on one thread; llama.cpp with an f32 KV cache and no flash attention.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "model/adapter.h"
#include "support/test_support.h"

namespace ll {
namespace {

using nlohmann::json;

constexpr int kNewTokens = 64;

// A prompt past stories260K's trained context of 512 tokens: the opening of Persuasion.
std::string long_prompt() {
  const std::string book = test::read_file(test::shared_path("austen/persuasion.txt"));
  const size_t start = book.find("Sir Walter Elliot");
  return book.substr(start, 1100);
}

struct Greedy {
  std::vector<int> prompt, tokens;
  std::string text;
  json raw = json::object();
};

Greedy parse_greedy(const std::string& json_path) {
  Greedy g;
  g.raw = json::parse(test::read_file(json_path));
  g.prompt = g.raw["prompt_tokens"].get<std::vector<int>>();
  g.tokens = g.raw["tokens"].get<std::vector<int>>();
  g.text = g.raw["text"].get<std::string>();
  return g;
}

// `longlora generate --greedy` (extra: --model, --adapter, ...); prompt "" = BOS alone.
Greedy longlora_greedy(const test::TempDir& dir, const std::string& tag, std::vector<std::string> args,
                       const std::string& prompt) {
  const std::string out = dir.file(tag + ".longlora.json"), prompt_file = dir.file(tag + ".prompt.txt");
  test::write_file(prompt_file, prompt);
  args.insert(args.begin(), "generate");
  args.insert(args.end(), {"--prompt-file", prompt_file, "--greedy", "-n", std::to_string(kNewTokens), "--threads", "1",
                           "--json", out});
  const auto r = test::run_cli(args);
  EXPECT_EQ(r.status, 0) << r.err;
  return r.status == 0 ? parse_greedy(out) : Greedy{};
}

// llama.cpp's greedy generation (llama_cpp_generate.py); rope_freq_scale 0 = the model's own.
Greedy llama_cpp_greedy(const test::TempDir& dir, const std::string& tag, const std::string& model,
                        const std::string& lora, double rope_freq_scale, const std::string& prompt, int n_ctx) {
  const std::string out = dir.file(tag + ".llama_cpp.json"), prompt_file = dir.file(tag + ".prompt.txt");
  test::write_file(prompt_file, prompt);
  std::vector<std::string> args = {"--model", model, "--prompt-file", prompt_file, "--max-tokens",
                                   std::to_string(kNewTokens), "--threads", "1", "--n-ctx", std::to_string(n_ctx),
                                   "--rope-freq-scale", std::to_string(rope_freq_scale), "--out", out};
  if (!lora.empty()) {
    args.push_back("--lora");
    args.push_back(lora);
  }
  return test::run_client("llama_cpp_generate.py", args) ? parse_greedy(out) : Greedy{};
}

// Same prompt ids, the same 64 new ids and the same text. Where the ids part, says how close
// llama.cpp's two best logits were there: a near-tie (rounding) or a real difference.
void expect_same_greedy(const Greedy& ours, const Greedy& theirs, const std::string& what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(ours.prompt, theirs.prompt) << "the tokenizers disagree on the prompt";
  ASSERT_EQ(ours.tokens.size(), static_cast<size_t>(kNewTokens)) << "longlora stopped early";
  size_t k = 0;
  while (k < ours.tokens.size() && k < theirs.tokens.size() && ours.tokens[k] == theirs.tokens[k]) ++k;
  if (k < ours.tokens.size() || k < theirs.tokens.size()) {
    std::string where = "first difference at new token " + std::to_string(k);
    if (k < theirs.tokens.size() && k < ours.tokens.size()) {
      const json& top2 = theirs.raw["top2"][k];
      where += ": longlora chose " + std::to_string(ours.tokens[k]) + ", llama.cpp " +
               std::to_string(theirs.tokens[k]) + "; llama.cpp's best two logits there: " + top2.dump() + " (margin " +
               std::to_string(top2[0][1].get<double>() - top2[1][1].get<double>()) + ")";
    }
    ADD_FAILURE() << where;
  }
  EXPECT_EQ(ours.text, theirs.text);
}

double rope_factor_of(const Greedy& longlora) { return longlora.raw.value("rope_factor", 0.0); }

// A short real training run on stories260K-hf (trained at 512) at context 1024: LongLoRA's rule
// records factor ceil(1024 / 512) = 2. `extra`: more train flags.
std::string train_run(const test::TempDir& dir, const std::vector<std::string>& extra) {
  const std::string run = dir.file("run");
  std::vector<std::string> args = {"train", "--model", test::shared_path("stories260K-hf"), "--data",
                                   test::shared_path("tests/austen-all.tok512.u16.bin"), "--context", "1024", "--out",
                                   run, "--max-steps", "6", "--grad-accum", "1", "--lr", "1e-2", "--warmup-steps", "0",
                                   "--threads", "1"};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto r = test::run_cli(args);
  EXPECT_EQ(r.status, 0) << r.err;
  return run;
}

void export_gguf(const std::vector<std::string>& args, std::string* err = nullptr) {
  std::vector<std::string> full = {"export", "--threads", "1"};
  full.insert(full.end(), args.begin(), args.end());
  const auto r = test::run_cli(full);
  EXPECT_EQ(r.status, 0) << r.err;
  if (err) *err = r.err;
}

TEST(LlamaCpp, BaseModelGreedyAndInfo) {
  LL_REQUIRE_SHARED_DATA();
  LL_REQUIRE_CLIENTS();
  test::TempDir dir;
  const std::string base = test::shared_path("stories260K.gguf");

  const auto info = test::run_cli({"info", "--model", base});
  ASSERT_EQ(info.status, 0) << info.err;
  test::write_file(dir.file("info.txt"), info.out);
  EXPECT_TRUE(test::run_client("gguf_check.py", {"info", "--base", base, "--info", dir.file("info.txt")}));

  const Greedy ours = longlora_greedy(dir, "bos", {"--model", base}, "");
  const Greedy theirs = llama_cpp_greedy(dir, "bos", base, "", 0, "", 256);
  expect_same_greedy(ours, theirs, "stories260K.gguf from BOS");
  EXPECT_EQ(ours.text.rfind("Once upon a time, there was a little girl named Lily.", 0), 0u) << ours.text;

  // Past the trained 512 tokens. The file says context_length 2048, so neither longlora nor
  // llama.cpp interpolates: both run at factor 1.
  const Greedy ours_long = longlora_greedy(dir, "long", {"--model", base}, long_prompt());
  const Greedy theirs_long = llama_cpp_greedy(dir, "long", base, "", 0, long_prompt(), 1024);
  EXPECT_GT(ours_long.prompt.size(), 512u);
  EXPECT_EQ(rope_factor_of(ours_long), 1.0);
  EXPECT_EQ(theirs_long.raw.value("n_ctx_train", 0), 2048);
  expect_same_greedy(ours_long, theirs_long, "stories260K.gguf, long prompt");
}

TEST(LlamaCpp, MergedLoraPlusRun) {
  LL_REQUIRE_SHARED_DATA();
  LL_REQUIRE_CLIENTS();
  test::TempDir dir;
  const std::string base = test::shared_path("stories260K.gguf");
  const std::string run = train_run(dir, {});  // LoRA+: LoRA r 8 α 16 on q/k/v/o, embed and norms trained
  const AdapterFiles files = locate_adapter(run);
  ASSERT_FALSE(files.trainable_params.empty()) << "a LoRA+ run without trained embed/norm";

  for (const char* dtype : {"f32", "f16", "bf16"})
    export_gguf(
        {"--adapter", run, "--merged-gguf", dir.file(std::string("merged-") + dtype + ".gguf"), "--out-dtype", dtype});
  export_gguf({"--adapter", run, "--gguf", dir.file("adapter.gguf"), "--lora-only"});

  // gguf-py reads them as llama.cpp's converters would have written them. The run's base is the HF
  // directory (max_position_embeddings 512), bit-identical to stories260K.gguf.
  const std::vector<std::string> model_check = {"model", "--base", base, "--peft", files.adapter_dir,
                                                "--context-length", "512", "--rope-factor", "2"};
  auto check_model = [&](const std::string& dtype, std::vector<std::string> extra) {
    std::vector<std::string> args = model_check;
    args.insert(args.end(), {"--gguf", dir.file("merged-" + dtype + ".gguf"), "--dtype", dtype});
    args.insert(args.end(), extra.begin(), extra.end());
    EXPECT_TRUE(test::run_client("gguf_check.py", args)) << dtype;
  };
  check_model("f32", {"--trainable", files.trainable_params});
  check_model("f16", {"--reference-f32", dir.file("merged-f32.gguf")});
  check_model("bf16", {"--reference-f32", dir.file("merged-f32.gguf")});
  EXPECT_TRUE(test::run_client("gguf_check.py", {"adapter", "--gguf", dir.file("adapter.gguf"), "--base", base,
                                                 "--peft", files.adapter_dir, "--dtype", "f32"}));

  // llama.cpp runs the merged model with the factor the file records (2), as longlora does.
  const std::string merged = dir.file("merged-f32.gguf");
  const Greedy ours = longlora_greedy(dir, "merged", {"--model", merged}, long_prompt());
  const Greedy theirs = llama_cpp_greedy(dir, "merged", merged, "", 0, long_prompt(), 1024);
  EXPECT_EQ(rope_factor_of(ours), 2.0);
  EXPECT_EQ(theirs.raw["metadata"].value("llama.rope.scaling.factor", ""), "2.000000");
  expect_same_greedy(ours, theirs, "merged LoRA+ run, long prompt");
  // The factor matters here: without it llama.cpp continues differently.
  const Greedy unscaled = llama_cpp_greedy(dir, "unscaled", merged, "", 1.0, long_prompt(), 1024);
  EXPECT_NE(unscaled.tokens, theirs.tokens) << "rope factor 1 and 2 give the same continuation: the check is blind";
}

TEST(LlamaCpp, BasePlusAdapter) {
  LL_REQUIRE_SHARED_DATA();
  LL_REQUIRE_CLIENTS();
  test::TempDir dir;
  const std::string base = test::shared_path("stories260K.gguf");
  // Plain LoRA (no embed/norm), rsLoRA: PEFT scales by α/√r, llama.cpp by its alpha / r, so the
  // file's alpha must be α·√r.
  const std::string run = train_run(dir, {"--trainable", "", "--rslora"});
  const AdapterFiles files = locate_adapter(run);
  ASSERT_TRUE(files.trainable_params.empty()) << "a plain LoRA run with trained weights besides LoRA";

  std::string note;
  export_gguf({"--adapter", run, "--gguf", dir.file("adapter.gguf")}, &note);
  EXPECT_NE(note.find("--rope-scale 2"), std::string::npos) << note;
  export_gguf({"--adapter", run, "--gguf", dir.file("adapter-bf16.gguf"), "--out-dtype", "bf16"});
  for (const char* dtype : {"f32", "bf16"}) {
    const std::string file = dir.file(std::string(dtype) == "f32" ? "adapter.gguf" : "adapter-bf16.gguf");
    EXPECT_TRUE(test::run_client(
        "gguf_check.py", {"adapter", "--gguf", file, "--base", base, "--peft", files.adapter_dir, "--dtype", dtype}));
  }

  // llama.cpp applies the adapter unmerged on the base GGUF, at the run's factor 2 given as
  // rope_freq_scale 1/2 (llama-cli --rope-scale 2); longlora takes the factor from the run.
  const std::string adapter = dir.file("adapter.gguf");
  const Greedy ours = longlora_greedy(dir, "adapter", {"--model", base, "--adapter", run}, long_prompt());
  const Greedy theirs = llama_cpp_greedy(dir, "adapter", base, adapter, 0.5, long_prompt(), 1024);
  EXPECT_EQ(rope_factor_of(ours), 2.0);
  expect_same_greedy(ours, theirs, "stories260K.gguf + adapter, long prompt");
  // The adapter matters here: without it llama.cpp continues differently.
  const Greedy bare = llama_cpp_greedy(dir, "bare", base, "", 0.5, long_prompt(), 1024);
  EXPECT_NE(bare.tokens, theirs.tokens) << "the adapter changes nothing: the check is blind";
}

}  // namespace
}  // namespace ll
