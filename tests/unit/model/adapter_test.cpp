// Applying PEFT adapters: the model with an unmerged adapter equals the merged model; adapters
// for another model, unknown targets and LongLoRA's 32001-row embeddings.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "formats/safetensors_writer.h"
#include "formats/tensor_store.h"
#include "model/adapter.h"
#include "model/forward.h"
#include "support/test_support.h"
#include "unit/formats/formats_test_util.h"

namespace ll {
namespace {

// A PEFT adapter directory with rank-`r` LoRA on q/v of every layer of stories260K (dim 64,
// q 64×64, v 32×64), random values; `in` overrides the in-features to make a mismatching one.
// `extra` (tensors) goes into adapter_model.safetensors too, `config_extra` into the config.
void write_adapter(const std::string& dir, int64_t r, int64_t in, const std::string& targets_json,
                   const NamedTensors& extra = {}, const std::string& config_extra = "") {
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/adapter_config.json")
      << "{\"peft_type\": \"LORA\", \"task_type\": \"CAUSAL_LM\", \"r\": " << r
      << ", \"lora_alpha\": 16, \"lora_dropout\": 0.0, \"target_modules\": " << targets_json << config_extra << "}";
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.f, 0.1f);
  std::vector<OwnedTensor> keep;
  NamedTensors tensors;
  for (int l = 0; l < 5; ++l)
    for (auto [proj, out] : {std::pair<const char*, int64_t>{"q_proj", 64}, {"v_proj", 32}}) {
      const std::string m = "base_model.model.model.layers." + std::to_string(l) + ".self_attn." + proj;
      keep.emplace_back(DType::F32, std::initializer_list<int64_t>{r, in});
      keep.emplace_back(DType::F32, std::initializer_list<int64_t>{out, r});
      for (size_t k = keep.size() - 2; k < keep.size(); ++k)
        for (int64_t i = 0; i < keep[k].numel(); ++i) keep[k].as<float>()[i] = nd(rng);
      tensors.push_back({m + ".lora_A.weight", keep[keep.size() - 2].view()});
      tensors.push_back({m + ".lora_B.weight", keep.back().view()});
    }
  tensors.insert(tensors.end(), extra.begin(), extra.end());
  write_safetensors(dir + "/adapter_model.safetensors", tensors);
}

std::vector<float> logits_of(const LlamaModel& model) {
  const std::vector<int32_t> tokens = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298};
  BatchLayout batch{1, static_cast<int64_t>(tokens.size()), {static_cast<int64_t>(tokens.size())}};
  Arena arena;
  std::vector<float> hidden(tokens.size() * 64), logits(tokens.size() * 512);
  forward_hidden(model, batch, tokens.data(), AttentionMask{}, hidden.data(), arena);
  compute_logits(model, hidden.data(), batch.T, logits.data(), arena);
  return logits;
}

TEST(Adapter, UnmergedEqualsMerged) {
  LL_REQUIRE_SHARED_DATA();
  test::TempDir dir;
  write_adapter(dir.file("a"), 4, 64, "[\"q_proj\", \"v_proj\"]");
  auto model = LlamaModel::open(test::shared_path("stories260K-hf"), ModelOptions{});
  const std::vector<float> base = logits_of(*model);
  apply_adapter(*model, locate_adapter(dir.file("a")));
  EXPECT_EQ(model->lora_adapters().size(), 10u);
  const std::vector<float> unmerged = logits_of(*model);
  model->merge_adapters();
  EXPECT_TRUE(model->lora_adapters().empty());
  const std::vector<float> merged = logits_of(*model);
  double diff = 0, changed = 0;
  for (size_t i = 0; i < merged.size(); ++i) {
    diff = std::max(diff, static_cast<double>(std::fabs(merged[i] - unmerged[i])));
    changed = std::max(changed, static_cast<double>(std::fabs(base[i] - unmerged[i])));
  }
  EXPECT_LT(diff, 1e-4);
  EXPECT_GT(changed, 1e-2);
}

TEST(Adapter, ForAnotherModelIsAClearError) {
  LL_REQUIRE_SHARED_DATA();
  test::TempDir dir;
  write_adapter(dir.file("a"), 4, 4096, "[\"q_proj\", \"v_proj\"]");
  auto model = LlamaModel::open(test::shared_path("stories260K-hf"), ModelOptions{});
  try {
    apply_adapter(*model, locate_adapter(dir.file("a")));
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("adapter_model.safetensors"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("another model"), std::string::npos) << e.what();
  }
}

TEST(Adapter, UnknownTargetsInConfigAreRefused) {
  LL_REQUIRE_SHARED_DATA();
  test::TempDir dir;
  write_adapter(dir.file("a"), 4, 64, "[\"q_proj\", \"qkv_proj\"]");
  auto model = LlamaModel::open(test::shared_path("stories260K-hf"), ModelOptions{});
  try {
    apply_adapter(*model, locate_adapter(dir.file("a")));
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("adapter_config.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("qkv_proj"), std::string::npos) << e.what();
  }
}

TEST(Adapter, LongLoRAPadRowGrowsTheVocabulary) {
  LL_REQUIRE_SHARED_DATA();
  test::TempDir dir;
  write_adapter(dir.file("a"), 4, 64, "[\"q_proj\", \"v_proj\"]");
  // trainable_params with a 513-row embedding (LongLoRA adds [PAD]) and a norm.
  OwnedTensor embed(DType::F32, {513, 64}), norm(DType::F32, {64});
  for (int64_t i = 0; i < embed.numel(); ++i) embed.as<float>()[i] = 0.01f * static_cast<float>(i % 97);
  for (int64_t i = 0; i < 64; ++i) norm.as<float>()[i] = 1.5f;
  write_safetensors(dir.file("a/trainable_params.safetensors"),
                    {{"model.embed_tokens.weight", embed.view()}, {"model.norm.weight", norm.view()}});
  auto model = LlamaModel::open(test::shared_path("stories260K-hf"), ModelOptions{});
  OwnedTensor keep;  // (host copies of device tensors: none on the CPU)
  const Tensor head_before = model->current_weight("lm_head.weight", keep);
  std::vector<double> mean(64, 0.0);
  for (int64_t v = 0; v < 512; ++v)
    for (int64_t i = 0; i < 64; ++i) mean[static_cast<size_t>(i)] += head_before.as<float>()[v * 64 + i] / 512.0;
  apply_adapter(*model, locate_adapter(dir.file("a")));
  EXPECT_EQ(model->config().vocab_size, 513);
  const Tensor head = model->current_weight("lm_head.weight", keep);
  ASSERT_EQ(head.shape[0], 513);
  for (int64_t i = 0; i < 64; ++i) EXPECT_NEAR(head.as<float>()[512 * 64 + i], mean[static_cast<size_t>(i)], 1e-5);
  EXPECT_EQ(model->current_weight("model.norm.weight", keep).as<float>()[3], 1.5f);
  EXPECT_EQ(model->current_weight("model.embed_tokens.weight", keep).as<float>()[512 * 64 + 5],
            embed.as<float>()[512 * 64 + 5]);
}

OwnedTensor filled(std::initializer_list<int64_t> shape, float value) {
  OwnedTensor t(DType::F32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.as<float>()[i] = value;
  return t;
}

// Both forms of trained weights: LongLoRA's trainable_params first, then PEFT's modules_to_save
// copies in adapter_model over them, as LongLoRA's scripts + PeftModel.from_pretrained apply them.
TEST(Adapter, PeftModulesToSaveEntriesWinOverTrainableParams) {
  LL_REQUIRE_SHARED_DATA();
  test::TempDir dir;
  const OwnedTensor two = filled({64}, 2.0f), one_and_half = filled({64}, 1.5f), half = filled({64}, 0.5f);
  write_adapter(dir.file("a"), 4, 64, "[\"q_proj\", \"v_proj\"]", {{"base_model.model.model.norm.weight", two.view()}},
                ", \"modules_to_save\": [\"model.norm\"]");
  write_safetensors(
      dir.file("a/trainable_params.safetensors"),
      {{"model.norm.weight", one_and_half.view()}, {"model.layers.0.input_layernorm.weight", half.view()}});
  auto model = LlamaModel::open(test::shared_path("stories260K-hf"), ModelOptions{});
  OwnedTensor keep;  // (host copies of device tensors: none on the CPU)
  apply_adapter(*model, locate_adapter(dir.file("a")));
  EXPECT_EQ(model->current_weight("model.norm.weight", keep).as<float>()[7], 2.0f);
  EXPECT_EQ(model->current_weight("model.layers.0.input_layernorm.weight", keep).as<float>()[7], 0.5f);
  EXPECT_EQ(model->lora_adapters().size(), 10u);
}

TEST(Adapter, TrainedModulesTheFilesLackAreAnError) {
  LL_REQUIRE_SHARED_DATA();
  test::TempDir dir;
  // "norm" selects every norm (PEFT's suffix rule); the file holds only the final one.
  const OwnedTensor norm = filled({64}, 2.0f);
  write_adapter(dir.file("a"), 4, 64, "[\"q_proj\", \"v_proj\"]", {{"base_model.model.model.norm.weight", norm.view()}},
                ", \"modules_to_save\": [\"norm\"]");
  auto model = LlamaModel::open(test::shared_path("stories260K-hf"), ModelOptions{});
  OwnedTensor keep;  // (host copies of device tensors: none on the CPU)
  test::expect_input_error([&] { apply_adapter(*model, locate_adapter(dir.file("a"))); },
                           {dir.file("a/adapter_config.json"), "modules_to_save [\"norm\"]",
                            "'model.layers.0.input_layernorm' was trained",
                            "'base_model.model.model.layers.0.input_layernorm.weight'"});
  EXPECT_EQ(model->current_weight("model.norm.weight", keep).as<float>()[0],
            model->files().tensor("model.norm.weight").as<float>()[0])
      << "nothing is applied before the check";
}

TEST(Adapter, LoraTensorsOtherThanPairsAreRefused) {
  LL_REQUIRE_SHARED_DATA();
  test::TempDir dir;
  const OwnedTensor magnitude = filled({64}, 1.0f);  // DoRA's
  const std::string name = "base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector";
  write_adapter(dir.file("a"), 4, 64, "[\"q_proj\", \"v_proj\"]", {{name, magnitude.view()}});
  auto model = LlamaModel::open(test::shared_path("stories260K-hf"), ModelOptions{});
  test::expect_input_error([&] { apply_adapter(*model, locate_adapter(dir.file("a"))); },
                           {dir.file("a/adapter_model.safetensors"), name, "only LoRA pairs"});
}

}  // namespace
}  // namespace ll

namespace ll {
namespace {

// PEFT's and LongLoRA's own files (written by PyTorch, as safetensors and as torch.save .bin)
// reproduce the oracle's logits for base + [PAD]-resized embeddings + trainable params + LoRA.
TEST(Adapter, PeftAndLongLoRAFilesMatchTheOracle) {
  LL_REQUIRE_TORCH();
  test::TempDir dir;
  ASSERT_TRUE(test::run_oracle("peft_oracle.py", {dir.path()}));
  const TensorStore want = TensorStore::open_file(dir.file("expected.safetensors"));
  const Tensor tokens = want.get("tokens"), logits = want.get("logits");
  const int64_t T = tokens.shape[1], V = logits.shape[2];
  for (const char* kind : {"st", "bin"}) {
    auto model = LlamaModel::open(dir.file("model"), ModelOptions{});
    apply_adapter(*model, locate_adapter(dir.file(kind)));
    ASSERT_EQ(model->config().vocab_size, V) << kind;
    BatchLayout batch{1, T, {T}};
    Arena arena;
    std::vector<float> hidden(static_cast<size_t>(T * model->config().hidden_size)), got(static_cast<size_t>(T * V));
    forward_hidden(*model, batch, tokens.as<int32_t>(), AttentionMask{}, hidden.data(), arena);
    compute_logits(*model, hidden.data(), T, got.data(), arena);
    double diff = 0, ref = 0;
    for (int64_t i = 0; i < T * V; ++i) {
      diff = std::max(diff, std::fabs(static_cast<double>(got[static_cast<size_t>(i)]) - logits.as<float>()[i]));
      ref = std::max(ref, std::fabs(static_cast<double>(logits.as<float>()[i])));
    }
    EXPECT_LT(diff / ref, 1e-4) << kind;
  }
}

}  // namespace
}  // namespace ll
