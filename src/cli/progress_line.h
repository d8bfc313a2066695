// A progress line on stderr for long commands: "label  done/total units  rate  ETA". Redrawn in
// place on a terminal; on a pipe or file, one plain line every few seconds and at the end.
#pragma once
#include <cstdint>
#include <string>

#include "core/progress.h"

namespace ll::cli {

class ProgressLine {
 public:
  explicit ProgressLine(std::string label);
  void update(int64_t done, int64_t total, const char* units, const std::string& extra = "");
  void finish();  // ends the line (terminal) — call once

 private:
  std::string label_;
  Stopwatch clock_;
  double last_print_ = -1e9;
  bool tty_, drawn_ = false;
};

}  // namespace ll::cli
