#include "core/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace ll {

static size_t read_status_kb(const char* key) {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  size_t kb = 0;
  const size_t key_len = std::strlen(key);
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, key, key_len) == 0) {
      std::sscanf(line + key_len, "%zu", &kb);
      break;
    }
  }
  std::fclose(f);
  return kb * 1024;
}

size_t peak_rss_bytes() { return read_status_kb("VmHWM:"); }
size_t current_rss_bytes() { return read_status_kb("VmRSS:"); }

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

ProgressLine::ProgressLine(std::FILE* out, double pipe_interval_s)
    : out_(out), tty_(out && ::isatty(::fileno(out))), pipe_interval_s_(pipe_interval_s) {}

void ProgressLine::show(const std::string& text, bool last) {
  if (!out_) return;
  const double t = clock_.seconds();
  if (!last && t - last_shown_ < (tty_ ? 0.2 : pipe_interval_s_)) return;
  last_shown_ = t;
  if (tty_) {
    std::fprintf(out_, "\r%s\033[K", text.c_str());
    open_line_ = true;
  } else {
    std::fprintf(out_, "%s\n", text.c_str());
  }
  std::fflush(out_);
}

void ProgressLine::count(const std::string& label, int64_t done, int64_t total, const char* units,
                         const std::string& extra) {
  const double t = clock_.seconds(), rate = static_cast<double>(done) / std::max(t, 1e-9);
  const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0;
  char buf[160];
  std::snprintf(buf, sizeof buf, "  %lld/%lld %s  %.1f/s  ETA %s  peak %.0f MiB", static_cast<long long>(done),
                static_cast<long long>(total), units, rate, format_duration(eta).c_str(),
                static_cast<double>(peak_rss_bytes()) / (1024.0 * 1024.0));
  show(label + buf + (extra.empty() ? "" : "  " + extra), done >= total);
}

void ProgressLine::finish() {
  if (out_ && open_line_) std::fputs("\n", out_);
  open_line_ = false;
}

}  // namespace ll
