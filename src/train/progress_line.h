// The per-step progress line on stderr: step/total, loss, lr, grad norm, tokens/s, ETA, peak RSS.
// On a terminal it is one line rewritten in place; otherwise (a log file, a pipe) one line per step.
#pragma once
#include <cstdio>
#include <string>

#include "train/metrics.h"

namespace ll {

// "step 12/1000  loss 2.3456  lr 1.20e-05  grad-norm 0.812  1234 tok/s  ETA 1h02m  peak 812 MiB"
std::string format_progress(const StepRecord& r);
// "1h02m", "3m05s", "12s"
std::string format_duration(double seconds);

class ProgressLine {
 public:
  // out == nullptr: silent.
  explicit ProgressLine(std::FILE* out);
  void show(const StepRecord& r);
  // Ends the in-place line on a terminal.
  void finish();

 private:
  std::FILE* out_;
  bool tty_;
  bool open_line_ = false;
};

}  // namespace ll
