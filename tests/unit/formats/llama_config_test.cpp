#include "formats/llama_config.h"

#include <gtest/gtest.h>

#include "formats/gguf.h"
#include "formats/gguf_llama.h"
#include "formats/gguf_writer.h"
#include "support/test_support.h"
#include "unit/formats/formats_test_util.h"

namespace ll {
namespace {

using nlohmann::json;
using test::expect_input_error;

// A valid LLaMA config with GQA; tests change one field at a time.
json small_config() {
  return json::parse(R"({
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 48,
    "intermediate_size": 100, "num_hidden_layers": 3, "num_attention_heads": 6,
    "num_key_value_heads": 2, "vocab_size": 77, "max_position_embeddings": 256,
    "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "tie_word_embeddings": true,
    "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "bfloat16", "custom_field": [1, 2]})");
}

// Writes `j` as config.json and parses it.
LlamaConfig parse(const test::TempDir& dir, const json& j) {
  test::write_file(dir.file("config.json"), j.dump(2));
  return parse_hf_config(dir.file("config.json"));
}

void expect_config_error(const json& j, const std::vector<std::string>& parts) {
  test::TempDir dir;
  std::vector<std::string> all = parts;
  all.push_back(dir.file("config.json"));
  expect_input_error([&] { parse(dir, j); }, all);
}

TEST(LlamaConfig, ParsesTheRealConfig) {
  LL_REQUIRE_SHARED_DATA();
  const LlamaConfig c = parse_hf_config(test::shared_path("stories260K-hf/config.json"));
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.intermediate_size, 172);
  EXPECT_EQ(c.num_layers, 5);
  EXPECT_EQ(c.num_heads, 8);
  EXPECT_EQ(c.num_kv_heads, 4);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_EQ(c.max_position_embeddings, 512);
  EXPECT_FLOAT_EQ(c.rms_norm_eps, 1e-5f);
  EXPECT_EQ(c.rope_theta, 10000.0);
  EXPECT_EQ(c.rope_factor, 1.0);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.bos_token_id, 1);
  EXPECT_EQ(c.eos_token_id, 2);
  EXPECT_EQ(c.torch_dtype, DType::F32);
  EXPECT_EQ(c.raw["hidden_act"], "silu");
}

TEST(LlamaConfig, DefaultsAndVariants) {
  test::TempDir dir;
  json j = small_config();
  LlamaConfig c = parse(dir, j);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.num_kv_heads, 2);
  EXPECT_EQ(c.rope_theta, 500000.0);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.torch_dtype, DType::BF16);

  j.erase("num_key_value_heads");
  j.erase("max_position_embeddings");
  j.erase("rope_theta");
  j.erase("torch_dtype");
  j["dtype"] = "float16";  // newer transformers spell it so
  j["head_dim"] = 16;      // explicit head_dim need not be hidden / heads
  j["eos_token_id"] = {5, 2};
  j.erase("model_type");  // architectures alone identifies a LLaMA
  c = parse(dir, j);
  EXPECT_EQ(c.num_kv_heads, 6);
  EXPECT_EQ(c.max_position_embeddings, 2048);
  EXPECT_EQ(c.rope_theta, 10000.0);
  EXPECT_EQ(c.torch_dtype, DType::F16);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.eos_token_id, 5);

  j = small_config();
  for (const char* type_key : {"type", "rope_type"}) {
    j["rope_scaling"] = {{type_key, "linear"}, {"factor", 4.0}};
    EXPECT_EQ(parse(dir, j).rope_factor, 4.0);
  }
  j["rope_scaling"] = nullptr;
  EXPECT_EQ(parse(dir, j).rope_factor, 1.0);
}

TEST(LlamaConfig, WritesBackWithLinearScaling) {
  test::TempDir dir;
  LlamaConfig c = parse(dir, small_config());
  c.rope_factor = 8;
  c.max_position_embeddings = 256;
  c.torch_dtype = DType::F32;
  const json out = to_hf_config_json(c);
  EXPECT_EQ(out["rope_scaling"], json({{"type", "linear"}, {"rope_type", "linear"}, {"factor", 8.0}}));
  EXPECT_EQ(out["custom_field"], json({1, 2}));  // unknown fields survive
  EXPECT_EQ(out["torch_dtype"], "float32");
  EXPECT_FALSE(out.contains("head_dim"));  // derived, so not written
  const LlamaConfig back = parse(dir, out);
  EXPECT_EQ(back.rope_factor, 8.0);
  EXPECT_EQ(back.hidden_size, c.hidden_size);
  EXPECT_EQ(back.num_kv_heads, c.num_kv_heads);
  EXPECT_EQ(back.rms_norm_eps, c.rms_norm_eps);
  EXPECT_EQ(back.rope_theta, c.rope_theta);
  EXPECT_EQ(back.tie_word_embeddings, c.tie_word_embeddings);
  EXPECT_EQ(back.max_position_embeddings, 256);

  c.rope_factor = 1;
  EXPECT_TRUE(to_hf_config_json(c)["rope_scaling"].is_null());
  LlamaConfig bare;  // filled by hand, no raw config
  bare.hidden_size = 16, bare.intermediate_size = 24, bare.num_layers = 1, bare.num_heads = 2;
  bare.num_kv_heads = 1, bare.head_dim = 4, bare.vocab_size = 10;
  const json made = to_hf_config_json(bare);
  ASSERT_TRUE(made["architectures"].is_array());
  EXPECT_EQ(made["architectures"][0], "LlamaForCausalLM");
  EXPECT_EQ(made["head_dim"], 4);  // 2 heads x 4 != 16, so it must be explicit
  EXPECT_EQ(parse(dir, made).head_dim, 4);
}

TEST(LlamaConfigBadInput, NotALlama) {
  json j = small_config();
  j["model_type"] = "gpt2";
  expect_config_error(j, {"model_type", "not a LLaMA model", "gpt2"});
  j["model_type"] = "mistral";
  expect_config_error(j, {"not a LLaMA model", "mistral"});
  j.erase("model_type");
  j["architectures"] = {"GPT2LMHeadModel"};
  expect_config_error(j, {"not a LLaMA model"});
}

TEST(LlamaConfigBadInput, MalformedJson) {
  test::TempDir dir;
  test::write_file(dir.file("config.json"), "{\n  \"hidden_size\": 64,\n  \"vocab_size\": }\n");
  expect_input_error([&] { parse_hf_config(dir.file("config.json")); },
                     {dir.file("config.json"), "malformed JSON", "line 3"});
  expect_input_error([&] { parse_hf_config(dir.file("absent.json")); },
                     {dir.file("absent.json"), "cannot open"});
}

TEST(LlamaConfigBadInput, RopeScalingOtherThanLinear) {
  json j = small_config();
  for (const char* type : {"dynamic", "yarn", "llama3"}) {
    j["rope_scaling"] = {{"type", type}, {"factor", 2.0}};
    expect_config_error(j, {"rope_scaling.type", "\"linear\"", type});
  }
  j["rope_scaling"] = {{"type", "linear"}};
  expect_config_error(j, {"rope_scaling", "factor"});
  j["rope_scaling"] = {{"type", "linear"}, {"factor", -2}};
  expect_config_error(j, {"rope_scaling", "factor", "positive"});
  j["rope_scaling"] = {{"type", "linear"}, {"rope_type", "dynamic"}, {"factor", 2}};
  expect_config_error(j, {"rope_scaling", "disagree"});
  j["rope_scaling"] = "linear";
  expect_config_error(j, {"rope_scaling", "null or an object"});
}

TEST(LlamaConfigBadInput, InconsistentSizes) {
  json j = small_config();
  j["num_attention_heads"] = 5;
  j["num_key_value_heads"] = 5;
  expect_config_error(j, {"num_attention_heads 5 does not divide hidden_size 48"});
  j = small_config();
  j["num_key_value_heads"] = 4;
  expect_config_error(j, {"num_key_value_heads 4 does not divide num_attention_heads 6"});
  j = small_config();
  j["eos_token_id"] = 77;
  expect_config_error(j, {"eos_token_id", "below vocab_size 77", "found 77"});
  j = small_config();
  j["bos_token_id"] = -1;
  expect_config_error(j, {"bos_token_id"});
  j = small_config();
  j.erase("hidden_size");
  expect_config_error(j, {"missing field 'hidden_size'"});
  j = small_config();
  j["intermediate_size"] = "100";
  expect_config_error(j, {"intermediate_size", "a positive integer", "\"100\""});
  j = small_config();
  j["num_hidden_layers"] = 0;
  expect_config_error(j, {"num_hidden_layers", "a positive integer"});
  j = small_config();
  j["head_dim"] = 7;
  expect_config_error(j, {"head_dim", "even"});
  j = small_config();
  j["torch_dtype"] = "int8";
  expect_config_error(j, {"torch_dtype", "int8"});
  j = small_config();
  j["tie_word_embeddings"] = "yes";
  expect_config_error(j, {"tie_word_embeddings"});
}

TEST(LlamaConfig, FromTheRealGgufMatchesTheHfConfig) {
  LL_REQUIRE_SHARED_DATA();
  const GgufFile g(test::shared_path("stories260K.gguf"));
  const LlamaConfig c = config_from_gguf(g);
  const LlamaConfig hf = parse_hf_config(test::shared_path("stories260K-hf/config.json"));
  EXPECT_EQ(c.hidden_size, hf.hidden_size);
  EXPECT_EQ(c.intermediate_size, hf.intermediate_size);
  EXPECT_EQ(c.num_layers, hf.num_layers);
  EXPECT_EQ(c.num_heads, hf.num_heads);
  EXPECT_EQ(c.num_kv_heads, hf.num_kv_heads);
  EXPECT_EQ(c.head_dim, hf.head_dim);
  EXPECT_EQ(c.vocab_size, hf.vocab_size);
  EXPECT_EQ(c.rms_norm_eps, hf.rms_norm_eps);
  EXPECT_EQ(c.rope_theta, hf.rope_theta);
  EXPECT_EQ(c.rope_factor, 1.0);
  EXPECT_EQ(c.tie_word_embeddings, hf.tie_word_embeddings);
  EXPECT_EQ(c.bos_token_id, hf.bos_token_id);
  EXPECT_EQ(c.eos_token_id, hf.eos_token_id);
  EXPECT_EQ(c.torch_dtype, DType::F32);
  EXPECT_EQ(c.max_position_embeddings, 2048);  // what its metadata says (it was trained at 512)
  EXPECT_EQ(to_hf_config_json(c)["model_type"], "llama");
}

// A GGUF holding only LLaMA metadata (plus, optionally, an output.weight tensor).
struct GgufConfigFile {
  GgufWriter w;
  OwnedTensor output = test::random_tensor(DType::F32, {10, 16}, 3);
  explicit GgufConfigFile(const std::string& arch = "llama") {
    w.add_string("general.architecture", arch);
    w.add_u32("llama.embedding_length", 16);
    w.add_u32("llama.block_count", 2);
    w.add_u32("llama.feed_forward_length", 40);
    w.add_u32("llama.attention.head_count", 4);
    w.add_u32("llama.context_length", 128);
    w.add_f32("llama.attention.layer_norm_rms_epsilon", 1e-6f);
  }
  LlamaConfig read(const test::TempDir& dir) {
    w.write(dir.file("c.gguf"));
    return config_from_gguf(GgufFile(dir.file("c.gguf")));
  }
};

TEST(LlamaConfig, FromGgufDefaultsAndScaling) {
  test::TempDir dir;
  {
    GgufConfigFile f;
    f.w.add_u32("llama.vocab_size", 10);
    const LlamaConfig c = f.read(dir);
    EXPECT_EQ(c.num_kv_heads, 4);
    EXPECT_EQ(c.head_dim, 4);
    EXPECT_EQ(c.vocab_size, 10);
    EXPECT_EQ(c.rope_theta, 10000.0);
    EXPECT_EQ(c.rope_factor, 1.0);
    EXPECT_TRUE(c.tie_word_embeddings);  // no output.weight
  }
  {
    GgufConfigFile f;
    f.w.add_string_array("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "a", "b", "c"});
    f.w.add_u32("llama.attention.head_count_kv", 2);
    f.w.add_f32("llama.rope.freq_base", 20000.0f);
    f.w.add_string("llama.rope.scaling.type", "linear");
    f.w.add_f32("llama.rope.scaling.factor", 4.0f);
    f.w.add_u32("tokenizer.ggml.eos_token_id", 5);
    f.w.add_tensor("output.weight", f.output.view());
    const LlamaConfig c = f.read(dir);
    EXPECT_EQ(c.vocab_size, 6);
    EXPECT_EQ(c.num_kv_heads, 2);
    EXPECT_EQ(c.rope_theta, 20000.0);
    EXPECT_EQ(c.rope_factor, 4.0);
    EXPECT_EQ(c.eos_token_id, 5);
    EXPECT_FALSE(c.tie_word_embeddings);
  }
  {
    GgufConfigFile f;
    f.w.add_u32("llama.vocab_size", 10);
    f.w.add_f32("llama.rope.scale_linear", 2.0f);  // the legacy key
    EXPECT_EQ(f.read(dir).rope_factor, 2.0);
  }
}

TEST(LlamaConfigBadInput, FromGguf) {
  test::TempDir dir;
  const std::string p = dir.file("c.gguf");
  {
    GgufConfigFile f("gpt2");
    expect_input_error([&] { f.read(dir); }, {p, "general.architecture", "not a LLaMA model", "gpt2"});
  }
  {
    GgufConfigFile f;
    f.w.add_u32("llama.vocab_size", 10);
    f.w.add_string("llama.rope.scaling.type", "yarn");
    expect_input_error([&] { f.read(dir); }, {p, "llama.rope.scaling.type", "yarn"});
  }
  {
    GgufConfigFile f;
    expect_input_error([&] { f.read(dir); }, {p, "missing metadata key 'llama.vocab_size'"});
  }
  {
    GgufConfigFile f;
    f.w.add_u32("llama.vocab_size", 10);
    f.w.add_u32("llama.rope.dimension_count", 2);
    expect_input_error([&] { f.read(dir); }, {p, "llama.rope.dimension_count", "partial rotary"});
  }
  {
    GgufConfigFile f;
    f.w.add_u32("llama.vocab_size", 10);
    f.w.add_u32("tokenizer.ggml.bos_token_id", 10);
    expect_input_error([&] { f.read(dir); }, {p, "bos_token_id", "below vocab_size 10"});
  }
  {
    GgufConfigFile f;
    f.w.add_u32("llama.vocab_size", 10);
    f.w.add_u32("llama.attention.head_count_kv", 3);
    expect_input_error([&] { f.read(dir); }, {p, "num_key_value_heads 3 does not divide"});
  }
}

}  // namespace
}  // namespace ll
