// Learning-rate schedules exactly as Hugging Face transformers defines them (optimization.py), on
// the optimizer-step counter `step` = 0, 1, 2, … (HF Trainer's scheduler.last_epoch): the update
// number step+1 uses lr = base_lr · factor(step), the product taken in double as torch's LambdaLR does.
//   constant_with_warmup  step < W: step / max(1, W);  then 1                (LongLoRA's default)
//   linear                step < W: step / max(1, W);  then max(0, (S − step) / max(1, S − W))
//   cosine                step < W: step / max(1, W);  then max(0, ½·(1 + cos(π · 2·0.5 · p))),
//                         p = (step − W) / max(1, S − W)
// with W = warm-up steps and S = total steps. As in HF Trainer, the first update (step 0) has lr 0.
#pragma once
#include <cstdint>
#include <string>

namespace ll {

enum class LrSchedule : uint8_t { ConstantWithWarmup, Linear, Cosine };

// "constant_with_warmup" | "linear" | "cosine" (HF's names); InputError naming `flag` otherwise.
LrSchedule parse_lr_schedule(const std::string& name, const std::string& where = "longlora train",
                             const std::string& field = "--lr-scheduler");
const char* lr_schedule_name(LrSchedule schedule);

struct ScheduleOptions {
  LrSchedule kind = LrSchedule::ConstantWithWarmup;
  double base_lr = 2e-5;
  int64_t warmup_steps = 20;
  int64_t total_steps = 1000;
};

// The multiplier HF's lr_lambda returns for `step`.
double lr_factor(const ScheduleOptions& s, int64_t step);
// base_lr · lr_factor(step): the learning rate of update number step+1.
double learning_rate(const ScheduleOptions& s, int64_t step);

}  // namespace ll
