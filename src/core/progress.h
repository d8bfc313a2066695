// Elapsed time, peak memory and the progress line of long commands (train, sft, eval, passkey).
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

namespace ll {

class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  void restart() { start_ = std::chrono::steady_clock::now(); }

 private:
  std::chrono::steady_clock::time_point start_;
};

// Peak resident set size of this process in bytes (VmHWM), 0 if unknown.
size_t peak_rss_bytes();
// Current resident set size in bytes (VmRSS), 0 if unknown.
size_t current_rss_bytes();

// "1h02m", "3m05s", "12s"
std::string format_duration(double seconds);

// One line of progress on a stream: on a terminal redrawn in place, at most every 0.2 s; on a pipe
// or a file written as plain lines, at most one every `pipe_interval_s` seconds. A line marked last
// always goes out. out == nullptr: silent.
class ProgressLine {
 public:
  explicit ProgressLine(std::FILE* out = stderr, double pipe_interval_s = 5.0);
  void show(const std::string& text, bool last = false);
  // "label  done/total units  rate/s  ETA 1m05s  peak 812 MiB[  extra]", timed from construction.
  void count(const std::string& label, int64_t done, int64_t total, const char* units, const std::string& extra = "");
  // Ends the in-place line on a terminal.
  void finish();

 private:
  std::FILE* out_;
  bool tty_;
  double pipe_interval_s_;
  Stopwatch clock_;
  double last_shown_ = -1e9;
  bool open_line_ = false;
};

}  // namespace ll
