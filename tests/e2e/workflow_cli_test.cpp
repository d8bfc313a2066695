// The LongLoRA workflow end to end through the binary on the real stories260K model:
// train a few steps at twice its context → eval with the adapter → merge → eval the merged model
// (same perplexity) → export a llama.cpp adapter and merged GGUF → read them back.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/half.h"
#include "formats/gguf.h"
#include "formats/rope_layout.h"
#include "formats/tensor_store.h"
#include "support/test_support.h"

namespace ll {
namespace {

double perplexity_at(const std::string& json_path, int64_t context) {
  const auto j = nlohmann::json::parse(test::read_file(json_path));
  for (const auto& r : j["results"])
    if (r["context"] == context) return r["perplexity"].get<double>();
  ADD_FAILURE() << "no result for context " << context << " in " << json_path;
  return 0;
}

TEST(WorkflowCli, TrainEvalMergeExport) {
  LL_REQUIRE_SHARED_DATA();
  test::TempDir dir;
  const std::string base = test::shared_path("stories260K-hf");
  const std::string data = test::shared_path("tests/austen-all.tok512.u16.bin");
  const std::string run = dir.file("run");

  auto train = test::run_cli({"train", "--model", base, "--data", data, "--context", "1024", "--out", run, "--max-steps",
                              "3", "--grad-accum", "2", "--lr", "1e-3", "--warmup-steps", "0", "--threads", "1"});
  ASSERT_EQ(train.status, 0) << train.err;

  const std::vector<std::string> eval_tail = {"--data", data, "--context", "512,1024", "--max-windows", "3", "--threads", "1"};
  auto eval = [&](std::vector<std::string> head, const std::string& json) {
    head.insert(head.end(), eval_tail.begin(), eval_tail.end());
    head.push_back("--json");
    head.push_back(json);
    const auto r = test::run_cli(head);
    EXPECT_EQ(r.status, 0) << r.err;
  };
  eval({"eval", "--model", base, "--adapter", run}, dir.file("adapter.json"));
  eval({"eval", "--model", base, "--rope-factor", "2"}, dir.file("base.json"));

  const auto merge = test::run_cli({"merge", "--model", base, "--adapter", run, "--out", dir.file("merged")});
  ASSERT_EQ(merge.status, 0) << merge.err;
  const auto config = nlohmann::json::parse(test::read_file(dir.file("merged/config.json")));
  EXPECT_EQ(config["rope_scaling"]["type"], "linear");
  EXPECT_EQ(config["rope_scaling"]["factor"], 2.0);  // ceil(1024 / 512), as LongLoRA computes it
  eval({"eval", "--model", dir.file("merged")}, dir.file("merged.json"));

  // A llama.cpp adapter cannot carry the trained embeddings/norms: refused unless --lora-only says so.
  const auto refused = test::run_cli({"export", "--adapter", run, "--gguf", dir.file("adapter.gguf")});
  EXPECT_EQ(refused.status, 2);
  EXPECT_NE(refused.err.find("--lora-only"), std::string::npos) << refused.err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("adapter.gguf")));
  const auto exported = test::run_cli({"export", "--adapter", run, "--gguf", dir.file("adapter.gguf"), "--lora-only",
                                       "--merged-gguf", dir.file("merged.gguf")});
  ASSERT_EQ(exported.status, 0) << exported.err;
  EXPECT_NE(exported.err.find("--rope-scale 2"), std::string::npos) << exported.err;
  eval({"eval", "--model", dir.file("merged.gguf")}, dir.file("merged_gguf.json"));

  for (int64_t ctx : {512, 1024}) {
    const double with_adapter = perplexity_at(dir.file("adapter.json"), ctx);
    EXPECT_NE(with_adapter, perplexity_at(dir.file("base.json"), ctx)) << "training changed nothing";
    EXPECT_NEAR(perplexity_at(dir.file("merged.json"), ctx), with_adapter, 1e-4 * with_adapter);
    EXPECT_NEAR(perplexity_at(dir.file("merged_gguf.json"), ctx), with_adapter, 1e-4 * with_adapter);
  }

  // The llama.cpp adapter holds exactly the PEFT adapter: A as is, B with q/k rows interleaved.
  const GgufFile gguf(dir.file("adapter.gguf"));
  EXPECT_EQ(gguf.get_string("general.type"), "adapter");
  EXPECT_EQ(gguf.get_string("adapter.type"), "lora");
  EXPECT_EQ(gguf.get_f32("adapter.lora.alpha"), 16.0f);
  const TensorStore peft = TensorStore::open_file(run + "/adapter/adapter_model.safetensors");
  int pairs = 0;
  for (int layer = 0; layer < 5; ++layer) {
    for (const char* proj : {"q", "k", "v", "o"}) {
      const std::string module = std::string("model.layers.") + std::to_string(layer) + ".self_attn." + proj + "_proj";
      const std::string gguf_base = "blk." + std::to_string(layer) + ".attn_" + (std::string(proj) == "o" ? "output" : proj) + ".weight";
      const Tensor A = peft.get("base_model.model." + module + ".lora_A.weight");
      const Tensor B = peft.get("base_model.model." + module + ".lora_B.weight");
      const Tensor ga = gguf.tensor(gguf_base + ".lora_a"), gb = gguf.tensor(gguf_base + ".lora_b");
      ASSERT_TRUE(ga.same_shape(A) && gb.same_shape(B)) << gguf_base;
      EXPECT_EQ(std::memcmp(ga.data, A.data, A.nbytes()), 0) << gguf_base;
      const int64_t heads = std::string(proj) == "q" ? 8 : std::string(proj) == "k" ? 4 : 0;
      const OwnedTensor b_hf = heads ? interleaved_to_rotate_half(gb, heads) : OwnedTensor::copy_of(gb);
      EXPECT_EQ(std::memcmp(b_hf.data(), B.data, B.nbytes()), 0) << gguf_base;
      ++pairs;
    }
  }
  EXPECT_EQ(pairs, 20);
}

TEST(WorkflowCli, AdapterErrors) {
  LL_REQUIRE_SHARED_DATA();
  test::TempDir dir;
  const auto no_adapter = test::run_cli({"eval", "--model", test::shared_path("stories260K-hf"), "--adapter", dir.path(),
                                         "--data", test::shared_path("tests/austen-1024.tok512.u16.bin"), "--context", "128"});
  EXPECT_EQ(no_adapter.status, 2);
  EXPECT_NE(no_adapter.err.find("no adapter"), std::string::npos) << no_adapter.err;
}

}  // namespace
}  // namespace ll
