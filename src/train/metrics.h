// What each optimizer step reports: RUN/metrics.jsonl (one JSON object per step) and the
// progress line (core/progress.h ProgressLine showing format_step).
#pragma once
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace ll {

struct StepRecord {
  int64_t step = 0;          // updates done, this one included (1-based)
  int64_t max_steps = 0;
  double loss = 0;           // mean of the micro-batches' mean token losses, before the update
  double lr = 0;             // the learning rate this update used
  double grad_norm = 0;      // global gradient norm before clipping
  int64_t tokens = 0;        // tokens in the step's rows (all micro-batches)
  int64_t loss_tokens = 0;   // of which predicted (counted in the loss)
  double step_s = 0;         // wall time of this step
  double tokens_per_s = 0;   // tokens / step_s
  double elapsed_s = 0;      // since this process started training
  double eta_s = 0;          // remaining steps × mean step time so far
  double peak_rss_mb = 0;    // peak resident memory of the process
  // --on-nan skip: updates discarded so far for non-finite values, and where this attempt's
  // fault was (train/numeric_faults.h describe(); "" = the update was applied).
  int64_t skipped_steps = 0;
  std::string non_finite;
};

nlohmann::json step_record_json(const StepRecord& r);

// "step 12/1000  loss 2.3456  lr 1.20e-05  grad-norm 0.812  1234 tok/s  ETA 1h02m  peak 812 MiB"
std::string format_step(const StepRecord& r);

// Appends one line per step to RUN/metrics.jsonl, flushed after each line. Opening it for a run
// resumed after `keep_through_step` updates first drops the lines of later steps (a killed run's
// steps that will be redone).
class MetricsLog {
 public:
  MetricsLog(const std::string& path, int64_t keep_through_step);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;
  void append(const StepRecord& r);

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace ll
