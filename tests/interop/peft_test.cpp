// PEFT (build/venv) and longlora's adapters, both ways, on the real stories260K:
//   - the adapter directory a short `longlora train` (LoRA+) writes loads with
//     PeftModel.from_pretrained, LoRA and trained embed/norm restored, logits equal to longlora's
//     (peft_loads_longlora_adapter.py);
//   - adapters PEFT writes (save_pretrained as safetensors and as .bin, with LongLoRA's
//     trainable_params.bin from torch.save, and PEFT's own modules_to_save form) load in longlora
//     with logits equal to transformers + PEFT's, and `longlora eval --adapter DIR` finds the
//     perplexity LongLoRA's eval.py protocol gives in PyTorch (peft_writes_adapter.py).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "formats/safetensors_writer.h"
#include "formats/tensor_store.h"
#include "formats/token_file.h"
#include "model/adapter.h"
#include "model/forward.h"
#include "support/test_support.h"

namespace ll {
namespace {

const std::string kTokens = "tests/austen-1024.tok512.u16.bin";

// longlora's f32 logits [T, V] for `tokens`, the base with `adapter` applied ("" = none).
std::vector<float> longlora_logits(const std::string& adapter, const Tensor& tokens) {
  auto model = LlamaModel::open(test::shared_path("stories260K-hf"), ModelOptions{});
  if (!adapter.empty()) apply_adapter(*model, locate_adapter(adapter));
  const int64_t T = tokens.numel(), C = model->config().hidden_size, V = model->config().vocab_size;
  BatchLayout batch{1, T, {T}};
  Arena arena;
  std::vector<float> hidden(static_cast<size_t>(T * C)), logits(static_cast<size_t>(T * V));
  forward_hidden(*model, batch, tokens.as<int32_t>(), AttentionMask{}, hidden.data(), arena);
  compute_logits(*model, hidden.data(), T, logits.data(), arena);
  return logits;
}

// max |got − want| / max |want|
double relative_error(const std::vector<float>& got, const Tensor& want) {
  EXPECT_EQ(static_cast<int64_t>(got.size()), want.numel());
  double diff = 0, scale = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(got[i]) - want.as<float>()[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(want.as<float>()[i])));
  }
  return diff / scale;
}

TEST(PeftInterop, PeftLoadsTheAdapterDirectoryLongloraTrains) {
  LL_REQUIRE_CLIENTS();
  LL_REQUIRE_SHARED_DATA();
  test::TempDir dir;
  const std::string base = test::shared_path("stories260K-hf"), run = dir.file("run");
  // LoRA+ (embed and norms trained) at a high rate, so that every trained tensor moves visibly.
  const auto train = test::run_cli({"train", "--model", base, "--data", test::shared_path(kTokens), "--context", "128",
                                    "--max-steps", "4", "--grad-accum", "1", "--lr", "1e-2", "--warmup-steps", "0",
                                    "--out", run, "--threads", "2"});
  ASSERT_EQ(train.status, 0) << train.err;

  // longlora's logits with the adapter directory alone, handed over with the tokens.
  const TokenFile austen = open_token_file(test::shared_path(kTokens), TokenDtype::U16, 512);
  OwnedTensor tokens(DType::I32, {1, 128});
  austen.read(0, 128, tokens.as<int32_t>());
  const std::vector<float> logits = longlora_logits(run + "/adapter", tokens.view());
  write_safetensors(dir.file("expected.safetensors"),
                    {{"tokens", tokens.view()}, {"logits", Tensor::view(logits.data(), DType::F32, {1, 128, 512})}});
  std::string out;
  EXPECT_TRUE(test::run_client("peft_loads_longlora_adapter.py",
                               {base, run + "/adapter", dir.file("expected.safetensors")}, &out));
  std::printf("%s", out.c_str());
}

TEST(PeftInterop, LongloraLoadsTheAdaptersPeftWrites) {
  LL_REQUIRE_CLIENTS();
  LL_REQUIRE_SHARED_DATA();
  test::TempDir dir;
  const std::string base = test::shared_path("stories260K-hf"), tokens_path = test::shared_path(kTokens);
  std::string out;
  ASSERT_TRUE(test::run_client("peft_writes_adapter.py", {base, tokens_path, dir.path()}, &out));
  std::printf("%s", out.c_str());
  for (const std::string kind : {"longlora_st", "longlora_bin", "modules_to_save"}) {
    SCOPED_TRACE(kind);
    const TensorStore expected = TensorStore::open_file(dir.file(kind + ".expected.safetensors"));
    const Tensor tokens = expected.get("tokens"), want = expected.get("logits");
    const double error = relative_error(longlora_logits(dir.file(kind), tokens), want);
    EXPECT_LT(error, 1e-4);
    // The adapter matters: the base alone is far off.
    EXPECT_GT(relative_error(longlora_logits("", tokens), want), 1e-2);

    const auto eval = test::run_cli({"eval", "--model", base, "--adapter", dir.file(kind), "--data", tokens_path,
                                     "--context", "128", "--threads", "2", "--json", dir.file(kind + ".json")});
    ASSERT_EQ(eval.status, 0) << eval.err;
    const auto result = nlohmann::json::parse(test::read_file(dir.file(kind + ".json")))["results"][0];
    const double want_perplexity = std::exp(static_cast<double>(expected.get("loss").as<float>()[0]));
    EXPECT_EQ(result["windows"], 3);
    EXPECT_NEAR(result["perplexity"].get<double>(), want_perplexity, 1e-4 * want_perplexity);
    std::printf("%s: logits relative error %.2e, perplexity %.4f (PyTorch %.4f)\n", kind.c_str(), error,
                result["perplexity"].get<double>(), want_perplexity);
  }
}

}  // namespace
}  // namespace ll
