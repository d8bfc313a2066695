#include "formats/model_files.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "formats/gguf_writer.h"
#include "formats/llama_tensors.h"
#include "formats/rope_layout.h"
#include "formats/safetensors_writer.h"
#include "support/test_support.h"
#include "unit/formats/formats_test_util.h"

namespace ll {
namespace {

using test::expect_input_error;
namespace fs = std::filesystem;

// The real model, once as GGUF and once as an HF directory: after name mapping and the q/k row
// conversion every tensor must be the same, bit for bit. This proves the permutation.
TEST(Checkpoint, RealGgufEqualsRealHfBitForBit) {
  LL_REQUIRE_SHARED_DATA();
  const auto hf = ModelFiles::open(test::shared_path("stories260K-hf"));
  const auto gguf = ModelFiles::open(test::shared_path("stories260K.gguf"));
  EXPECT_FALSE(hf->is_gguf());
  EXPECT_TRUE(gguf->is_gguf());
  ASSERT_NE(gguf->gguf(), nullptr);
  EXPECT_EQ(hf->gguf(), nullptr);
  EXPECT_EQ(hf->weight_dtype(), DType::F32);
  EXPECT_EQ(gguf->weight_dtype(), DType::F32);
  EXPECT_EQ(hf->tokenizer_model_path(), test::shared_path("stories260K-hf") + "/tokenizer.model");
  EXPECT_EQ(gguf->tokenizer_model_path(), "");
  EXPECT_EQ(gguf->config().num_kv_heads, 4);

  const auto names = gguf->tensor_names();
  ASSERT_EQ(names.size(), 48u);
  EXPECT_EQ(names, hf->tensor_names());
  for (const auto& name : names) {
    const Tensor a = gguf->tensor(name), b = hf->tensor(name);
    EXPECT_TRUE(test::same_bytes(a, b)) << name;
  }
  // The raw GGUF q/k really are in the other order (the comparison above is not trivially true).
  const Tensor raw_q = gguf->gguf()->tensor("blk.0.attn_q.weight");
  EXPECT_FALSE(test::same_bytes(raw_q, hf->tensor("model.layers.0.self_attn.q_proj.weight")));
  // Everything but q/k is used in place.
  EXPECT_EQ(gguf->tensor("model.layers.0.self_attn.v_proj.weight").data,
            gguf->gguf()->tensor("blk.0.attn_v.weight").data);
}

// Export direction: HF q/k rows -> interleaved reproduce the GGUF file's own tensors.
TEST(Checkpoint, ExportPermutationReproducesTheRealGguf) {
  LL_REQUIRE_SHARED_DATA();
  const auto hf = ModelFiles::open(test::shared_path("stories260K-hf"));
  const GgufFile gguf(test::shared_path("stories260K.gguf"));
  const LlamaConfig& c = hf->config();
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".self_attn.";
    for (const auto& [name, n_head] :
         {std::pair{p + "q_proj.weight", c.num_heads}, std::pair{p + "k_proj.weight", c.num_kv_heads}}) {
      const OwnedTensor interleaved = rotate_half_to_interleaved(hf->tensor(name), n_head);
      EXPECT_TRUE(test::same_bytes(interleaved.view(), gguf.tensor(gguf_name_for(name)))) << name;
    }
  }
}

TEST(Checkpoint, ShardedRealModelReadsTheSame) {
  LL_REQUIRE_SHARED_DATA();
  const auto original = ModelFiles::open(test::shared_path("stories260K-hf"));
  test::TempDir dir;
  fs::copy_file(test::shared_path("stories260K-hf/config.json"), dir.file("config.json"));
  NamedTensors tensors;
  for (const auto& name : original->tensor_names()) tensors.push_back({name, original->tensor(name)});
  const auto written = write_safetensors_sharded(dir.path(), "model", tensors, 300'000, {{"format", "pt"}});
  EXPECT_GT(written.size(), 4u);  // ~1.17 MB in 300 kB shards, and the index
  const auto sharded = ModelFiles::open(dir.path());
  EXPECT_EQ(sharded->tensor_names(), original->tensor_names());
  for (const auto& name : original->tensor_names())
    EXPECT_TRUE(test::same_bytes(sharded->tensor(name), original->tensor(name))) << name;
  EXPECT_NE(sharded->file_of("lm_head.weight"), sharded->file_of("model.norm.weight"));
}

// A small random LLaMA (GQA, bf16) written both ways.
struct TinyLlama {
  LlamaConfig config;
  std::vector<std::pair<std::string, OwnedTensor>> weights;  // HF names and layout

  explicit TinyLlama(DType dtype) {
    config.hidden_size = 32, config.intermediate_size = 40, config.num_layers = 2;
    config.num_heads = 4, config.num_kv_heads = 2, config.head_dim = 8, config.vocab_size = 48;
    config.max_position_embeddings = 64, config.rms_norm_eps = 1e-5f, config.torch_dtype = dtype;
    uint32_t seed = 100;
    for (const auto& e : llama_expected_tensors(config))
      weights.emplace_back(e.name, test::random_tensor(dtype, e.shape, seed++));
  }

  NamedTensors named(const std::string& skip = "") const {
    NamedTensors out;
    for (const auto& [name, t] : weights)
      if (name != skip) out.push_back({name, t.view()});
    return out;
  }

  void write_hf(const std::string& dir, const std::string& skip = "") const {
    test::write_file(dir + "/config.json", to_hf_config_json(config).dump(2));
    write_safetensors(dir + "/model.safetensors", named(skip));
  }

  // As llama.cpp's converter writes it: GGUF names, q/k rows interleaved.
  void write_gguf(const std::string& path, const std::string& skip = "") const {
    GgufWriter w;
    w.add_string("general.architecture", "llama");
    w.add_u32("llama.embedding_length", 32);
    w.add_u32("llama.block_count", 2);
    w.add_u32("llama.feed_forward_length", 40);
    w.add_u32("llama.attention.head_count", 4);
    w.add_u32("llama.attention.head_count_kv", 2);
    w.add_u32("llama.context_length", 64);
    w.add_u32("llama.rope.dimension_count", 8);
    w.add_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
    w.add_u32("llama.vocab_size", 48);
    std::vector<OwnedTensor> permuted;
    permuted.reserve(weights.size());
    for (const auto& [name, t] : weights) {
      if (name == skip) continue;
      const bool is_q = name.find("q_proj") != std::string::npos,
                 is_k = name.find("k_proj") != std::string::npos;
      if (is_q || is_k) {
        permuted.push_back(
            rotate_half_to_interleaved(t.view(), is_q ? config.num_heads : config.num_kv_heads));
        w.add_tensor(gguf_name_for(name), permuted.back().view());
      } else {
        w.add_tensor(gguf_name_for(name), t.view());
      }
    }
    w.write(path);
  }
};

TEST(Checkpoint, TinyLlamaReadsTheSameFromBothFormats) {
  const TinyLlama model(DType::BF16);
  test::TempDir dir;
  model.write_hf(dir.path());
  model.write_gguf(dir.file("tiny.gguf"));
  const auto hf = ModelFiles::open(dir.path());
  const auto gguf = ModelFiles::open(dir.file("tiny.gguf"));
  EXPECT_EQ(hf->weight_dtype(), DType::BF16);
  EXPECT_EQ(gguf->weight_dtype(), DType::BF16);
  EXPECT_EQ(gguf->config().torch_dtype, DType::BF16);
  EXPECT_EQ(hf->tokenizer_model_path(), "");
  for (const auto& [name, t] : model.weights) {
    EXPECT_TRUE(test::same_bytes(hf->tensor(name), t.view())) << name;
    EXPECT_TRUE(test::same_bytes(gguf->tensor(name), t.view())) << name;
  }
  EXPECT_EQ(gguf->tensor_names(), hf->tensor_names());
  expect_input_error([&] { gguf->tensor("model.norm.weight", {33}); },
                     {"tensor 'model.norm.weight' (GGUF 'output_norm.weight') in " + dir.file("tiny.gguf"),
                      "expected shape [33], found [32]"});
  expect_input_error(
      [&] {
        hf->tensor("model.layers.0.mlp.up_proj.weight", {40, 33});
      },
      {"tensor 'model.layers.0.mlp.up_proj.weight' in " + dir.file("model.safetensors"),
       "expected shape [40, 33], found [40, 32]"});
  EXPECT_EQ(hf->tensor("model.layers.0.mlp.up_proj.weight", {40, 32}).shape_str(), "[40, 32]");
  test::write_file(dir.file("tokenizer.model"), "x");
  EXPECT_EQ(hf->tokenizer_model_path(), dir.file("tokenizer.model"));
}

TEST(CheckpointBadInput, MissingTensor) {
  const TinyLlama model(DType::F32);
  test::TempDir dir;
  const std::string skip = "model.layers.1.mlp.up_proj.weight";
  model.write_hf(dir.path(), skip);
  expect_input_error([&] { ModelFiles::open(dir.path()); },
                     {"missing tensor '" + skip + "' in " + dir.path()});
  model.write_gguf(dir.file("tiny.gguf"), skip);
  expect_input_error(
      [&] { ModelFiles::open(dir.file("tiny.gguf")); },
      {"missing tensor '" + skip + "' (GGUF 'blk.1.ffn_up.weight') in " + dir.file("tiny.gguf")});
}

TEST(CheckpointBadInput, WrongShapeOrDtype) {
  TinyLlama model(DType::F32);
  test::TempDir dir;
  for (auto& [name, t] : model.weights)
    if (name == "model.layers.1.self_attn.k_proj.weight") t = test::random_tensor(DType::F32, {24, 32}, 7);
  model.write_hf(dir.path());
  expect_input_error([&] { ModelFiles::open(dir.path()); },
                     {"tensor 'model.layers.1.self_attn.k_proj.weight' in " + dir.file("model.safetensors"),
                      "expected shape [16, 32], found [24, 32]"});
  model.write_gguf(dir.file("tiny.gguf"));
  expect_input_error([&] { ModelFiles::open(dir.file("tiny.gguf")); },
                     {"tensor 'model.layers.1.self_attn.k_proj.weight' (GGUF 'blk.1.attn_k.weight')",
                      "expected shape [16, 32], found [24, 32]"});

  TinyLlama ints(DType::F32);
  for (auto& [name, t] : ints.weights)
    if (name == "model.norm.weight") t = test::random_tensor(DType::I32, {32}, 8);
  ints.write_hf(dir.path());
  expect_input_error([&] { ModelFiles::open(dir.path()); },
                     {dir.file("model.safetensors"), "tensor 'model.norm.weight' has dtype i32"});
}

TEST(CheckpointBadInput, QuantizedGguf) {
  const TinyLlama model(DType::F32);
  test::TempDir dir;
  model.write_gguf(dir.file("tiny.gguf"));
  std::string bytes = test::read_file(dir.file("tiny.gguf"));
  std::string needle;
  test::append_string(needle, "blk.0.attn_q.weight");
  const size_t type_pos = bytes.find(needle) + needle.size() + 4 + 16;
  test::patch<uint32_t>(bytes, type_pos, 2);  // Q4_0: [32, 32] is 32 blocks of 18 bytes
  test::write_file(dir.file("q.gguf"), bytes);
  expect_input_error(
      [&] { ModelFiles::open(dir.file("q.gguf")); },
      {dir.file("q.gguf"),
       "tensor 'blk.0.attn_q.weight' has type Q4_0; only f32/f16/bf16 GGUF files are supported"});
}

TEST(CheckpointBadInput, NotAModel) {
  test::TempDir dir;
  expect_input_error([&] { ModelFiles::open(dir.file("absent")); },
                     {dir.file("absent"), "no such file"});
  expect_input_error([&] { ModelFiles::open(dir.path()); }, {dir.path(), "no config.json"});
  test::write_file(dir.file("notes.txt"), "hello");
  expect_input_error([&] { ModelFiles::open(dir.file("notes.txt")); },
                     {dir.file("notes.txt"), "not a model", ".gguf"});
  test::write_file(dir.file("fake.gguf"), "hello");
  expect_input_error([&] { ModelFiles::open(dir.file("fake.gguf")); }, {dir.file("fake.gguf"), "magic"});
  test::write_file(dir.file("config.json"), R"({"model_type": "gpt2"})");
  expect_input_error([&] { ModelFiles::open(dir.path()); },
                     {dir.file("config.json"), "not a model longlora runs", "gpt2"});
}

TEST(LlamaTensorNames, HfAndGgufNamesMapBothWays) {
  LlamaConfig c;
  c.hidden_size = 8, c.intermediate_size = 12, c.num_layers = 12, c.num_heads = 2, c.num_kv_heads = 1;
  c.head_dim = 4, c.vocab_size = 5;
  const auto expected = llama_expected_tensors(c);
  EXPECT_EQ(expected.size(), 1u + 12 * 9 + 2);
  std::set<std::string> gguf_names;
  for (const auto& e : expected) {
    const std::string g = gguf_name_for(e.name);
    gguf_names.insert(g);
    EXPECT_EQ(hf_name_for_gguf(g), e.name);
  }
  EXPECT_EQ(gguf_names.size(), expected.size());
  EXPECT_EQ(gguf_name_for("model.layers.11.self_attn.o_proj.weight"), "blk.11.attn_output.weight");
  EXPECT_EQ(gguf_name_for("model.layers.3.post_attention_layernorm.weight"), "blk.3.ffn_norm.weight");
  EXPECT_EQ(gguf_name_for("lm_head.weight"), "output.weight");
  EXPECT_EQ(hf_name_for_gguf("token_embd.weight"), "model.embed_tokens.weight");
  EXPECT_EQ(hf_name_for_gguf("rope_freqs.weight"), std::nullopt);
  EXPECT_EQ(hf_name_for_gguf("blk.01.attn_q.weight"), std::nullopt);
  EXPECT_EQ(hf_name_for_gguf("blk.x.attn_q.weight"), std::nullopt);
  expect_input_error([] { gguf_name_for("model.layers.0.self_attn.rotary_emb.inv_freq"); },
                     {"model.layers.0.self_attn.rotary_emb.inv_freq", "no GGUF name"});
  c.tie_word_embeddings = true;
  EXPECT_EQ(llama_expected_tensors(c).back().name, "model.norm.weight");
}

}  // namespace
}  // namespace ll
