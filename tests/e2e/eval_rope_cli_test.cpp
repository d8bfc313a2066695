// `longlora eval` applies LongLoRA's position-interpolation rule per evaluated context (issue 12,
// defect 2): stories260K-hf was trained at 512 (max_position_embeddings 512), so context 1024 runs
// at factor ceil(1024 / 512) = 2 as LongLoRA's eval.py sets it, 256 at 1; the factor is in every
// row of the table and the JSON; --rope-factor, or a model whose config carries a factor, fixes it
// for every context. The GGUF of the same model says context_length 2048, so 1024 stays at 1 there.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace ll {
namespace {

struct EvalRow {
  double rope_factor, perplexity;
};

class EvalRopeCli : public ::testing::Test {
 protected:
  // eval at contexts 256 and 1024 (one window each) with `extra` flags: one row per context.
  std::vector<EvalRow> eval(const std::string& model, std::vector<std::string> extra, std::string* table = nullptr) {
    std::vector<std::string> args = {"eval", "--model", model, "--data", data, "--context", "256,1024", "--max-windows",
                                     "1", "--threads", "2", "--json", dir.file("eval.json")};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = test::run_cli(args);
    EXPECT_EQ(r.status, 0) << r.err;
    if (table) *table = r.out;
    std::vector<EvalRow> rows;
    if (r.status != 0) return rows;
    const auto json = nlohmann::json::parse(test::read_file(dir.file("eval.json")));
    for (const auto& row : json["results"])
      rows.push_back({row["rope_factor"].get<double>(), row["perplexity"].get<double>()});
    EXPECT_EQ(rows.size(), 2u);
    return rows;
  }

  test::TempDir dir;
  const std::string data = test::shared_path("tests/austen-all.tok512.u16.bin");
};

TEST_F(EvalRopeCli, FactorPerContextAsLongLoRAsEvalPy) {
  LL_REQUIRE_SHARED_DATA();
  const std::string hf = test::shared_path("stories260K-hf");
  std::string table;
  const auto rule = eval(hf, {}, &table);
  ASSERT_EQ(rule.size(), 2u);
  EXPECT_EQ(rule[0].rope_factor, 1.0);
  EXPECT_EQ(rule[1].rope_factor, 2.0);
  EXPECT_NE(table.find("rope"), std::string::npos) << table;

  // The same numbers as the factors given explicitly, and not those of factor 1 at 1024.
  const auto one = eval(hf, {"--rope-factor", "1"}), two = eval(hf, {"--rope-factor", "2"});
  ASSERT_EQ(one.size(), 2u);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(one[1].rope_factor, 1.0);
  EXPECT_EQ(two[0].rope_factor, 2.0);  // given: every context
  EXPECT_EQ(rule[0].perplexity, one[0].perplexity);
  EXPECT_EQ(rule[1].perplexity, two[1].perplexity);
  EXPECT_GT(std::abs(rule[1].perplexity - one[1].perplexity), 0.01 * one[1].perplexity);

  // The GGUF's metadata says context_length 2048: 1024 is within it.
  const auto gguf = eval(test::shared_path("stories260K.gguf"), {});
  ASSERT_EQ(gguf.size(), 2u);
  EXPECT_EQ(gguf[1].rope_factor, 1.0);
  EXPECT_NEAR(gguf[1].perplexity, one[1].perplexity, 1e-4 * one[1].perplexity);

  // A config that carries a factor (rope_scaling, as `longlora merge` writes it) keeps it everywhere.
  auto config = nlohmann::json::parse(test::read_file(hf + "/config.json"));
  config["rope_scaling"] = {{"type", "linear"}, {"factor", 4.0}};
  std::filesystem::create_directories(dir.file("scaled"));
  test::write_file(dir.file("scaled/config.json"), config.dump());
  std::filesystem::copy_file(hf + "/model.safetensors", dir.file("scaled/model.safetensors"));
  const auto scaled = eval(dir.file("scaled"), {});
  ASSERT_EQ(scaled.size(), 2u);
  EXPECT_EQ(scaled[0].rope_factor, 4.0);
  EXPECT_EQ(scaled[1].rope_factor, 4.0);
}

}  // namespace
}  // namespace ll
