#include "train/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.h"

namespace ll {

LrSchedule parse_lr_schedule(const std::string& name, const std::string& where, const std::string& field) {
  if (name == "constant_with_warmup") return LrSchedule::ConstantWithWarmup;
  if (name == "linear") return LrSchedule::Linear;
  if (name == "cosine") return LrSchedule::Cosine;
  fail_expected(where, field, "constant_with_warmup, linear or cosine", "'" + name + "'");
}

const char* lr_schedule_name(LrSchedule schedule) {
  switch (schedule) {
    case LrSchedule::ConstantWithWarmup: return "constant_with_warmup";
    case LrSchedule::Linear: return "linear";
    case LrSchedule::Cosine: return "cosine";
  }
  return "?";
}

double lr_factor(const ScheduleOptions& s, int64_t step) {
  const auto d = [](int64_t x) { return static_cast<double>(x); };
  if (step < s.warmup_steps) return d(step) / d(std::max<int64_t>(1, s.warmup_steps));
  const double after_warmup = d(std::max<int64_t>(1, s.total_steps - s.warmup_steps));
  switch (s.kind) {
    case LrSchedule::ConstantWithWarmup:
      return 1.0;
    case LrSchedule::Linear:
      return std::max(0.0, d(s.total_steps - step) / after_warmup);
    case LrSchedule::Cosine: {
      const double progress = d(step - s.warmup_steps) / after_warmup;
      const double num_cycles = 0.5;
      return std::max(0.0, 0.5 * (1.0 + std::cos(std::numbers::pi * num_cycles * 2.0 * progress)));
    }
  }
  return 1.0;
}

double learning_rate(const ScheduleOptions& s, int64_t step) { return s.base_lr * lr_factor(s, step); }

}  // namespace ll
