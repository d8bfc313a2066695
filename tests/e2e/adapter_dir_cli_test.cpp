// The adapter directory `longlora train` writes is self-contained (issue 12, defect 1): `eval
// --adapter RUN/adapter` applies the trained embed/norm exactly as `--adapter RUN` does; a run in
// the layout of earlier versions (trainable_params beside adapter/) still evaluates the same; and an
// adapter whose config says embed/norm were trained but whose files lack them exits 2.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "formats/safetensors_writer.h"
#include "formats/tensor_store.h"
#include "support/test_support.h"

namespace ll {
namespace {

namespace fs = std::filesystem;

class AdapterDirCli : public ::testing::Test {
 protected:
  void SetUp() override {
    LL_REQUIRE_SHARED_DATA();
    const auto train = test::run_cli({"train", "--model", base, "--data", data, "--context", "128", "--max-steps", "4",
                                      "--grad-accum", "1", "--lr", "1e-2", "--warmup-steps", "0", "--out",
                                      dir.file("run"), "--threads", "2"});
    ASSERT_EQ(train.status, 0) << train.err;
  }

  // eval's perplexity at context 128 with --adapter `adapter`; the CLI's status must be 0.
  double perplexity(const std::string& adapter) {
    const std::string json = dir.file("eval.json");
    const auto r = test::run_cli({"eval", "--model", base, "--adapter", adapter, "--data", data, "--context", "128",
                                  "--threads", "2", "--json", json});
    EXPECT_EQ(r.status, 0) << r.err;
    return r.status == 0 ? nlohmann::json::parse(test::read_file(json))["results"][0]["perplexity"].get<double>() : 0;
  }

  // A copy of RUN/adapter whose adapter_model.safetensors holds only the LoRA pairs.
  void copy_lora_only(const std::string& to) {
    fs::create_directories(to);
    fs::copy_file(dir.file("run/adapter/adapter_config.json"), to + "/adapter_config.json");
    const TensorStore all = TensorStore::open_file(dir.file("run/adapter/adapter_model.safetensors"));
    NamedTensors lora;
    for (const std::string& name : all.names())
      if (name.find(".lora_") != std::string::npos) lora.emplace_back(name, all.get(name));
    ASSERT_EQ(lora.size(), 5u * 4 * 2);  // q/k/v/o of 5 layers
    write_safetensors(to + "/adapter_model.safetensors", lora);
  }

  test::TempDir dir;
  const std::string base = test::shared_path("stories260K-hf");
  const std::string data = test::shared_path("tests/austen-1024.tok512.u16.bin");
};

TEST_F(AdapterDirCli, AdapterDirectoryAloneEqualsTheRun) {
  const double via_run = perplexity(dir.file("run")), via_adapter = perplexity(dir.file("run/adapter"));
  EXPECT_EQ(via_adapter, via_run);

  // LoRA alone (what the adapter directory gave before it held the embed/norm) is another model.
  copy_lora_only(dir.file("lora_only"));
  auto config = nlohmann::json::parse(test::read_file(dir.file("lora_only/adapter_config.json")));
  config["modules_to_save"] = nullptr;
  test::write_file(dir.file("lora_only/adapter_config.json"), config.dump());
  EXPECT_GT(std::fabs(perplexity(dir.file("lora_only")) - via_run), 1e-3 * via_run);

  // An earlier version's run: LoRA-only adapter/, trainable_params.safetensors beside it.
  fs::create_directories(dir.file("old"));
  fs::rename(dir.file("lora_only"), dir.file("old/adapter"));
  const TensorStore trained = TensorStore::open_file(dir.file("run/adapter/adapter_model.safetensors"));
  NamedTensors hf_named;
  for (const std::string& name : trained.names())
    if (name.find(".lora_") == std::string::npos) hf_named.emplace_back(name.substr(17), trained.get(name));
  ASSERT_EQ(hf_named.size(), 1u + 2 * 5 + 1);  // embed, two norms per layer, final norm
  write_safetensors(dir.file("old/trainable_params.safetensors"), hf_named);
  EXPECT_EQ(perplexity(dir.file("old")), via_run);
}

TEST_F(AdapterDirCli, TrainedModulesMissingFromTheFilesExit2) {
  copy_lora_only(dir.file("lacking"));  // modules_to_save still ["embed_tokens", "norm"]
  const auto r = test::run_cli({"eval", "--model", base, "--adapter", dir.file("lacking"), "--data", data, "--context",
                                "128", "--threads", "2"});
  EXPECT_EQ(r.status, 2) << r.err;
  for (const std::string& part : std::vector<std::string>{dir.file("lacking/adapter_config.json"),
                                                          "modules_to_save [\"embed_tokens\",\"norm\"]",
                                                          "'model.embed_tokens' was trained",
                                                          "base_model.model.model.embed_tokens.weight"})
    EXPECT_NE(r.err.find(part), std::string::npos) << part << "\n" << r.err;
  // With LongLoRA's trainable_params.bin beside it, the same directory is complete.
  fs::copy_file(dir.file("run/adapter/trainable_params.bin"), dir.file("lacking/trainable_params.bin"));
  EXPECT_EQ(perplexity(dir.file("lacking")), perplexity(dir.file("run")));
}

}  // namespace
}  // namespace ll
