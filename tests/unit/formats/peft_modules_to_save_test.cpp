// modules_to_save entries as PEFT 0.17 matches them (a plain suffix of the module's name): the
// fewest that select exactly the trained modules, and the reading of the field.
#include <gtest/gtest.h>

#include "formats/llama_tensors.h"
#include "formats/peft.h"
#include "support/test_support.h"
#include "unit/formats/formats_test_util.h"

namespace ll {
namespace {

// The modules of a 12-layer LLaMA (so that "layers.1." is also the end of "layers.11.").
std::vector<std::string> llama_modules() {
  LlamaConfig c;
  c.num_layers = 12;
  std::vector<std::string> modules;
  for (const ExpectedTensor& t : llama_expected_tensors(c)) modules.push_back(t.name.substr(0, t.name.rfind('.')));
  return modules;
}

std::vector<std::string> selected(const std::vector<std::string>& entries) {
  std::vector<std::string> out;
  for (const std::string& m : llama_modules())
    if (peft_selects(entries, m)) out.push_back(m);
  return out;
}

TEST(PeftModulesToSave, SuffixRuleAsPeftMatches) {
  // "norm" selects the layer norms too: a plain string suffix, not a dotted component.
  EXPECT_TRUE(peft_selects({"norm"}, "model.layers.3.input_layernorm"));
  EXPECT_TRUE(peft_selects({"norm"}, "model.norm"));
  EXPECT_FALSE(peft_selects({"model.norm"}, "model.layers.3.post_attention_layernorm"));
  EXPECT_TRUE(peft_selects({"embed_tokens"}, "model.embed_tokens"));
  EXPECT_FALSE(peft_selects({}, "model.embed_tokens"));
}

TEST(PeftModulesToSave, FewestEntriesSelectingExactlyTheTrained) {
  const std::vector<std::string> modules = llama_modules();
  // LoRA+'s default: the embedding and every norm.
  std::vector<std::string> trained = {"model.embed_tokens"};
  for (int l = 0; l < 12; ++l)
    for (const char* n : {"input_layernorm", "post_attention_layernorm"})
      trained.push_back("model.layers." + std::to_string(l) + "." + n);
  trained.push_back("model.norm");
  EXPECT_EQ(peft_modules_to_save(modules, trained), (std::vector<std::string>{"embed_tokens", "norm"}));
  EXPECT_EQ(selected({"embed_tokens", "norm"}), trained);

  // Only the final norm: "norm" would take the layer norms too.
  EXPECT_EQ(peft_modules_to_save(modules, {"model.norm"}), (std::vector<std::string>{"model.norm"}));
  // Layer 1's norm alone: "1.input_layernorm" would also select layer 11's.
  EXPECT_EQ(peft_modules_to_save(modules, {"model.layers.1.input_layernorm"}),
            (std::vector<std::string>{"layers.1.input_layernorm"}));
  // Every input_layernorm and the head.
  std::vector<std::string> inputs;
  for (int l = 0; l < 12; ++l) inputs.push_back("model.layers." + std::to_string(l) + ".input_layernorm");
  inputs.push_back("lm_head");
  EXPECT_EQ(peft_modules_to_save(modules, inputs), (std::vector<std::string>{"input_layernorm", "lm_head"}));
  EXPECT_EQ(selected({"input_layernorm", "lm_head"}), inputs);
  EXPECT_TRUE(peft_modules_to_save(modules, {}).empty());
}

TEST(PeftModulesToSave, ReadFromAdapterConfig) {
  test::TempDir dir;
  const std::string base = R"({"peft_type": "LORA", "r": 8, "lora_alpha": 16, "target_modules": ["q_proj"])";
  test::write_file(dir.file("a.json"), base + R"(, "modules_to_save": ["embed_tokens", "norm"]})");
  EXPECT_EQ(read_peft_config(dir.file("a.json")).modules_to_save, (std::vector<std::string>{"embed_tokens", "norm"}));
  test::write_file(dir.file("b.json"), base + R"(, "modules_to_save": null})");
  EXPECT_TRUE(read_peft_config(dir.file("b.json")).modules_to_save.empty());
  test::write_file(dir.file("c.json"), base + R"(, "modules_to_save": "embed_tokens"})");
  test::expect_input_error([&] { read_peft_config(dir.file("c.json")); },
                           {dir.file("c.json"), "modules_to_save", "a list of module names or null"});
}

}  // namespace
}  // namespace ll
