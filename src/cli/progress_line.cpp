#include "cli/progress_line.h"

#include <unistd.h>

#include <cstdio>

namespace ll::cli {

ProgressLine::ProgressLine(std::string label) : label_(std::move(label)), tty_(::isatty(STDERR_FILENO) != 0) {}

void ProgressLine::update(int64_t done, int64_t total, const char* units, const std::string& extra) {
  const double t = clock_.seconds();
  const bool last = done >= total;
  if (!last && t - last_print_ < (tty_ ? 0.2 : 5.0)) return;
  last_print_ = t;
  const double rate = done / std::max(t, 1e-9);
  const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0;
  std::fprintf(stderr, "%s%s  %lld/%lld %s  %.1f/s  ETA %.0fs  peak RSS %.0f MB%s%s", tty_ ? "\r\033[K" : "",
               label_.c_str(), static_cast<long long>(done), static_cast<long long>(total), units, rate, eta,
               static_cast<double>(peak_rss_bytes()) / 1e6, extra.empty() ? "" : "  ", extra.c_str());
  if (!tty_) std::fputc('\n', stderr);
  drawn_ = true;
  std::fflush(stderr);
}

void ProgressLine::finish() {
  if (tty_ && drawn_) std::fputc('\n', stderr);
  drawn_ = false;
}

}  // namespace ll::cli
