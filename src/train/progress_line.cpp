#include "train/progress_line.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace ll {

std::string format_duration(double seconds) {
  const long long s = std::llround(std::max(0.0, seconds));
  char buf[48];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, (s % 3600) / 60);
  else if (s >= 60)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%llds", s);
  return buf;
}

std::string format_progress(const StepRecord& r) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "step %lld/%lld  loss %.4f  lr %.2e  grad-norm %.3f  %.0f tok/s  ETA %s  peak %.0f MiB",
                static_cast<long long>(r.step), static_cast<long long>(r.max_steps), r.loss, r.lr, r.grad_norm,
                r.tokens_per_s, format_duration(r.eta_s).c_str(), r.peak_rss_mb);
  return buf;
}

ProgressLine::ProgressLine(std::FILE* out) : out_(out), tty_(out && ::isatty(::fileno(out))) {}

void ProgressLine::show(const StepRecord& r) {
  if (!out_) return;
  if (tty_) {
    std::fprintf(out_, "\r%s\033[K", format_progress(r).c_str());
    open_line_ = true;
  } else {
    std::fprintf(out_, "%s\n", format_progress(r).c_str());
  }
  std::fflush(out_);
}

void ProgressLine::finish() {
  if (out_ && open_line_) std::fputs("\n", out_);
  open_line_ = false;
}

}  // namespace ll
