// What a finished run leaves: a self-contained PEFT adapter directory (LoRA pairs, the trained
// embed/norm as PEFT's modules_to_save entries and as LongLoRA's trainable_params.bin), or with
// --full an HF model directory that longlora opens again with the trained weights.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "core/half.h"
#include "formats/tensor_store.h"
#include "formats/torch_bin.h"
#include "support/test_support.h"
#include "text/tokenizer.h"
#include "train/trainer.h"
#include "unit/train/train_fixture.h"

namespace ll {
namespace {

namespace fs = std::filesystem;

// Trains `options` for 2 updates into dir/run; returns the model (holding the trained values).
std::unique_ptr<LlamaModel> train_two_steps(TrainOptions options, const std::string& run_dir) {
  options.max_steps = 2;
  options.warmup_steps = 0;
  auto model = open_training_model(options);
  test::TokenRows data(test::random_tokens(3000, 512, 11), options.context);
  Trainer trainer(*model, data, options, run_dir);
  trainer.set_progress_output(nullptr);
  trainer.start_new_run();
  trainer.train();
  return model;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype == b.dtype && a.same_shape(b) && std::memcmp(a.data, b.data, a.nbytes()) == 0;
}

TEST(Outputs, PeftAdapterAndTrainableParams) {
  test::TempDir dir;
  test::write_tiny_llama(dir.file("model"));
  TrainOptions o = test::tiny_train_options(dir.file("model"));
  o.lora_targets = {"q_proj", "v_proj", "down_proj"};
  o.lora_alpha = 32;
  const auto model = train_two_steps(o, dir.file("run"));

  const auto config = nlohmann::json::parse(test::read_file(dir.file("run/adapter/adapter_config.json")));
  EXPECT_EQ(config["peft_type"], "LORA");
  EXPECT_EQ(config["task_type"], "CAUSAL_LM");
  EXPECT_EQ(config["r"], 8);
  EXPECT_TRUE(config["lora_alpha"].is_number_integer());
  EXPECT_EQ(config["lora_alpha"], 32);
  EXPECT_EQ(config["lora_dropout"], 0.1);
  EXPECT_EQ(config["target_modules"], nlohmann::json({"q_proj", "v_proj", "down_proj"}));
  EXPECT_EQ(config["base_model_name_or_path"], o.model);
  EXPECT_EQ(config["use_rslora"], false);
  EXPECT_EQ(config["bias"], "none");
  EXPECT_EQ(config["fan_in_fan_out"], false);
  EXPECT_EQ(config["inference_mode"], true);
  EXPECT_EQ(config["modules_to_save"], nlohmann::json({"embed_tokens", "norm"}));  // "norm": every norm

  // PEFT names and shapes: A [r, in], B [out, r], f32, holding the trained values.
  const TensorStore adapter = TensorStore::open_file(dir.file("run/adapter/adapter_model.safetensors"));
  const int64_t C = 48, KV = 2 * 8, F = 97;
  std::set<std::string> want_names;
  for (int l = 0; l < 2; ++l) {
    const std::string pre = "base_model.model.model.layers." + std::to_string(l) + ".";
    const std::pair<std::string, std::pair<int64_t, int64_t>> modules[] = {
        {"self_attn.q_proj", {C, C}}, {"self_attn.v_proj", {C, KV}}, {"mlp.down_proj", {F, C}}};
    for (const auto& [module, in_out] : modules) {
      const Tensor A = adapter.get(pre + module + ".lora_A.weight", {8, in_out.first});
      const Tensor B = adapter.get(pre + module + ".lora_B.weight", {in_out.second, 8});
      EXPECT_EQ(A.dtype, DType::F32);
      EXPECT_EQ(B.dtype, DType::F32);
      want_names.insert(pre + module + ".lora_A.weight");
      want_names.insert(pre + module + ".lora_B.weight");
    }
  }
  for (const LoraAdapter* a : model->lora_adapters()) {
    EXPECT_TRUE(same_bytes(adapter.get(a->name_A()), a->A.value)) << a->name_A();
    EXPECT_TRUE(same_bytes(adapter.get(a->name_B()), a->B.value)) << a->name_B();
    double b_abs = 0;
    for (int64_t i = 0; i < a->B.value.numel(); ++i) b_abs += std::abs(a->B.data()[i]);
    EXPECT_GT(b_abs, 0) << a->name_B() << " is still zero after training";
  }

  // The embedding and every norm, trained, f32: under HF names in trainable_params.bin (LongLoRA's
  // form, torch.save), and under PEFT's modules_to_save names in adapter_model.safetensors.
  const TorchBinFile extra = TorchBinFile::open(dir.file("run/adapter/trainable_params.bin"));
  std::set<std::string> want_extra = {"model.embed_tokens.weight", "model.norm.weight"};
  for (int l = 0; l < 2; ++l)
    for (const char* norm : {"input_layernorm", "post_attention_layernorm"})
      want_extra.insert("model.layers." + std::to_string(l) + "." + norm + ".weight");
  const auto extra_names = extra.names();
  EXPECT_EQ(std::set<std::string>(extra_names.begin(), extra_names.end()), want_extra);
  EXPECT_TRUE(same_bytes(extra.get("model.embed_tokens.weight", {512, C}), model->embed_master.value));
  EXPECT_TRUE(same_bytes(extra.get("model.norm.weight", {C}), model->final_norm.value));
  for (const std::string& name : want_extra) {
    want_names.insert("base_model.model." + name);
    EXPECT_TRUE(same_bytes(adapter.get("base_model.model." + name), extra.get(name))) << name;
  }
  const auto names = adapter.names();
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()), want_names);
  EXPECT_FALSE(fs::exists(dir.file("run/trainable_params.safetensors")));
  EXPECT_FALSE(fs::exists(dir.file("run/model")));
}

TEST(Outputs, PlainLoraWritesNoTrainableParams) {
  test::TempDir dir;
  test::write_tiny_llama(dir.file("model"));
  TrainOptions o = test::tiny_train_options(dir.file("model"));
  o.trainable = {};
  train_two_steps(o, dir.file("run"));
  EXPECT_EQ(TensorStore::open_file(dir.file("run/adapter/adapter_model.safetensors")).names().size(), 2u * 4 * 2);
  EXPECT_FALSE(fs::exists(dir.file("run/adapter/trainable_params.bin")));
  const auto config = nlohmann::json::parse(test::read_file(dir.file("run/adapter/adapter_config.json")));
  EXPECT_TRUE(config["modules_to_save"].is_null());
}

class FullOutput : public ::testing::TestWithParam<DType> {};

TEST_P(FullOutput, HfDirectoryOpensAgainWithTheTrainedWeights) {
  test::TempDir dir;
  const DType base_dtype = GetParam();
  test::write_tiny_llama(dir.file("model"), base_dtype);
  TrainOptions o = test::tiny_train_options(dir.file("model"));
  o.full = true;
  o.dtype = "f32";
  o.context = 128;  // twice max_position_embeddings: trained with rope factor 2
  const auto trained = train_two_steps(o, dir.file("run"));
  EXPECT_FALSE(fs::exists(dir.file("run/adapter")));

  const auto reopened = LlamaModel::open(dir.file("run/model"), ModelOptions{});
  EXPECT_EQ(reopened->config().rope_factor, 2.0);
  const auto config = nlohmann::json::parse(test::read_file(dir.file("run/model/config.json")));
  EXPECT_EQ(config["rope_scaling"]["type"], "linear");
  EXPECT_EQ(config["rope_scaling"]["factor"], 2.0);
  EXPECT_EQ(fs::exists(dir.file("run/model/tokenizer.model")), fs::exists(dir.file("model/tokenizer.model")));

  // Every weight was trained: each is stored in the base's dtype, equal to the f32 master rounded once.
  ASSERT_EQ(trained->trainable_params().size(), 3u + 2 * 9u);  // embed, norm, lm_head; 9 per layer
  const ModelFiles& saved = reopened->files();
  const ModelFiles& base = trained->files();
  for (const NamedParam& p : trained->trainable_params()) {
    const Tensor t = saved.tensor(p.name);
    ASSERT_EQ(t.dtype, base_dtype) << p.name;
    OwnedTensor want(base_dtype, p.param->value.shape, p.param->value.ndim);
    from_f32(want.data(), base_dtype, p.param->data(), p.param->value.numel());
    EXPECT_TRUE(same_bytes(t, want.view())) << p.name;
    EXPECT_FALSE(same_bytes(t, base.tensor(p.name))) << p.name << " did not change";
  }
}

TEST(Outputs, FullFromGgufWritesAnHfDirectoryWithItsVocabulary) {
  LL_REQUIRE_SHARED_DATA();
  test::TempDir dir;
  TrainOptions o = test::tiny_train_options(test::shared_path("stories260K.gguf"));
  o.full = true;
  o.context = 64;
  const auto trained = train_two_steps(o, dir.file("run"));
  const auto reopened = LlamaModel::open(dir.file("run/model"), ModelOptions{});
  for (const NamedParam& p : trained->trainable_params())
    EXPECT_TRUE(same_bytes(reopened->files().tensor(p.name), p.param->value)) << p.name;
  // The GGUF's vocabulary became a tokenizer.model that tokenizes as the GGUF does.
  const auto from_dir = load_tokenizer(reopened->files());
  const auto from_gguf = load_tokenizer(trained->files());
  const std::string text = "It was a bright cold day in April, and the clocks were striking thirteen.";
  EXPECT_EQ(from_dir->encode(text, true), from_gguf->encode(text, true));
}

INSTANTIATE_TEST_SUITE_P(BaseDtypes, FullOutput, ::testing::Values(DType::F32, DType::BF16),
                         [](const ::testing::TestParamInfo<DType>& info) { return std::string(dtype_name(info.param)); });

}  // namespace
}  // namespace ll
