// HF's learning-rate schedules at their edges, and the run options: JSON round trip, refusal of
// impossible values, and the resume merge that names a flag changing the math.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "core/error.h"
#include "train/schedule.h"
#include "train/train_options.h"

namespace ll {
namespace {

TEST(Schedule, ConstantWithWarmupStartsAtZeroAsHfTrainer) {
  const ScheduleOptions s{LrSchedule::ConstantWithWarmup, 2e-5, 20, 1000};
  EXPECT_EQ(learning_rate(s, 0), 0.0);
  EXPECT_EQ(learning_rate(s, 1), 2e-5 * (1.0 / 20.0));
  EXPECT_EQ(learning_rate(s, 19), 2e-5 * (19.0 / 20.0));
  EXPECT_EQ(learning_rate(s, 20), 2e-5);
  EXPECT_EQ(learning_rate(s, 5000), 2e-5);
  // Without warm-up the first update already has the peak.
  EXPECT_EQ(learning_rate({LrSchedule::ConstantWithWarmup, 1e-3, 0, 10}, 0), 1e-3);
}

TEST(Schedule, LinearAndCosineDecayToZeroAtTheLastStep) {
  const ScheduleOptions lin{LrSchedule::Linear, 1.0, 3, 13};
  EXPECT_EQ(lr_factor(lin, 2), 2.0 / 3.0);
  EXPECT_EQ(lr_factor(lin, 3), 1.0);
  EXPECT_EQ(lr_factor(lin, 8), 0.5);
  EXPECT_EQ(lr_factor(lin, 13), 0.0);
  EXPECT_EQ(lr_factor(lin, 20), 0.0);  // clamped, never negative
  const ScheduleOptions cos{LrSchedule::Cosine, 1.0, 3, 13};
  EXPECT_EQ(lr_factor(cos, 3), 1.0);
  EXPECT_NEAR(lr_factor(cos, 8), 0.5, 1e-15);
  EXPECT_NEAR(lr_factor(cos, 13), 0.0, 1e-15);
  EXPECT_NEAR(lr_factor(cos, 5), 0.5 * (1 + std::cos(std::numbers::pi * 0.2)), 1e-15);
}

TEST(Schedule, NamesRoundTripAndUnknownNamesAreRefused) {
  for (LrSchedule s : {LrSchedule::ConstantWithWarmup, LrSchedule::Linear, LrSchedule::Cosine})
    EXPECT_EQ(parse_lr_schedule(lr_schedule_name(s)), s);
  EXPECT_THROW(parse_lr_schedule("polynomial"), InputError);
}

TrainOptions some_options() {
  TrainOptions o;
  o.model = "/models/llama";
  o.data = "/data/pg19.bin";
  o.context = 8192;
  o.lr = 3e-5;
  o.lr_scheduler = LrSchedule::Cosine;
  o.trainable = {"embed"};
  o.lora_targets = {"q_proj", "v_proj"};
  o.seed = 1234567890123ull;
  o.full_attn = true;
  o.checkpointing = false;
  o.s2_variant = "roll";
  return o;
}

TEST(TrainOptionsJson, RoundTripsEveryField) {
  const TrainOptions o = some_options();
  const nlohmann::json j = train_options_to_json(o);
  EXPECT_EQ(j["lr-scheduler"], "cosine");
  EXPECT_EQ(j["no-checkpointing"], true);
  EXPECT_EQ(j["recompute-attention"], false);
  const nlohmann::json reparsed = nlohmann::json::parse(j.dump());
  EXPECT_EQ(train_options_to_json(train_options_from_json(reparsed, "x")), j);
  nlohmann::json before_flag = j;  // a run saved before --recompute-attention existed kept attention
  before_flag.erase("recompute-attention");
  EXPECT_FALSE(train_options_from_json(before_flag, "x").recompute_attention);
}

TEST(TrainOptionsJson, MissingOrMistypedFieldsNameTheFileAndKey) {
  nlohmann::json j = train_options_to_json(some_options());
  j.erase("grad-accum");
  try {
    train_options_from_json(j, "RUN/train_config.json");
    ADD_FAILURE();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("RUN/train_config.json"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("grad-accum"), std::string::npos);
  }
  j = train_options_to_json(some_options());
  j["lr"] = "fast";
  EXPECT_THROW(train_options_from_json(j, "x"), InputError);
  j = train_options_to_json(some_options());
  j["seed"] = -1;
  EXPECT_THROW(train_options_from_json(j, "x"), InputError);
}

TEST(TrainOptionsValidate, RefusesImpossibleValuesNamingTheFlag) {
  auto refused = [](auto change, const char* flag) {
    TrainOptions o = some_options();
    change(o);
    try {
      validate_train_options(o);
      ADD_FAILURE() << flag << " accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(flag), std::string::npos) << e.what();
    }
  };
  EXPECT_NO_THROW(validate_train_options(some_options()));
  refused([](TrainOptions& o) { o.batch_size = 0; }, "--batch-size");
  refused([](TrainOptions& o) { o.context = 1; }, "--context");
  refused([](TrainOptions& o) { o.grad_accum = 0; }, "--grad-accum");
  refused([](TrainOptions& o) { o.max_steps = 0; }, "--max-steps");
  refused([](TrainOptions& o) { o.lr = -1e-5; }, "--lr");
  refused([](TrainOptions& o) { o.s2_ratio = 1.5; }, "--s2-ratio");
  refused([](TrainOptions& o) { o.s2_variant = "wrap"; }, "--s2-variant");
  refused([](TrainOptions& o) { o.lora_dropout = 1.0; }, "--lora-dropout");
  refused([](TrainOptions& o) { o.adam_beta2 = 1.0; }, "--adam-beta2");
  refused([](TrainOptions& o) { o.save_steps = 0; }, "--save-steps");
  refused([](TrainOptions& o) { o.rope_factor = 0.5; }, "--rope-factor");
  refused([](TrainOptions& o) { o.token_dtype = "u8"; }, "--token-dtype");
  refused([](TrainOptions& o) { o.recompute_attention = true; }, "--recompute-attention");  // with no checkpointing
}

TEST(TrainOptionsResume, GivenOptionsMergeAndMathChangesAreRefused) {
  const nlohmann::json saved = train_options_to_json(some_options());
  // Options not given come from the run; non-math ones may change.
  const TrainOptions merged = merge_resume_options(saved, {{"threads", 3}, {"save-steps", 50}, {"lr", 3e-5}}, "RUN");
  EXPECT_EQ(merged.threads, 3);
  EXPECT_EQ(merged.save_steps, 50);
  EXPECT_EQ(merged.context, 8192);
  EXPECT_EQ(merged.lr_scheduler, LrSchedule::Cosine);
  const nlohmann::json math_changes = {{"lr", 1e-4},   {"context", 4096},         {"lora-targets", {"q_proj"}},
                                       {"seed", 7},    {"model", "/models/other"}, {"full-attn", false}};
  for (const auto& [key, value] : math_changes.items()) {
    try {
      merge_resume_options(saved, {{key, value}}, "RUN");
      ADD_FAILURE() << key << " accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("--" + key), std::string::npos) << e.what();
    }
  }
  EXPECT_TRUE(option_changes_math("lr"));
  EXPECT_FALSE(option_changes_math("no-checkpointing"));
  EXPECT_FALSE(option_changes_math("recompute-attention"));
  EXPECT_FALSE(option_changes_math("keep-checkpoints"));
}

}  // namespace
}  // namespace ll
