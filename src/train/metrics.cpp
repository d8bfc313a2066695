#include "train/metrics.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/progress.h"

namespace ll {

std::string format_step(const StepRecord& r) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "step %lld/%lld  loss %.4f  lr %.2e  grad-norm %.3f  %.0f tok/s  ETA %s  peak %.0f MiB",
                static_cast<long long>(r.step), static_cast<long long>(r.max_steps), r.loss, r.lr, r.grad_norm,
                r.tokens_per_s, format_duration(r.eta_s).c_str(), r.peak_rss_mb);
  return buf;
}

nlohmann::json step_record_json(const StepRecord& r) {
  nlohmann::json j = {{"step", r.step},
                      {"loss", r.loss},
                      {"lr", r.lr},
                      {"grad_norm", r.grad_norm},
                      {"tokens", r.tokens},
                      {"loss_tokens", r.loss_tokens},
                      {"step_s", r.step_s},
                      {"tokens_per_s", r.tokens_per_s},
                      {"elapsed_s", r.elapsed_s},
                      {"peak_rss_mb", r.peak_rss_mb},
                      {"skipped_steps", r.skipped_steps}};
  if (!r.non_finite.empty()) j["skipped"] = r.non_finite;
  return j;
}

MetricsLog::MetricsLog(const std::string& path, int64_t keep_through_step) : path_(path) {
  if (std::filesystem::exists(path)) {
    std::istringstream in(read_text_file(path));
    std::string kept;
    for (std::string line; std::getline(in, line);) {
      const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      // A torn last line (the process was killed mid-write) is dropped like a later step's.
      if (j.is_object() && j.contains("step") && j["step"].is_number_integer() &&
          j["step"].get<int64_t>() <= keep_through_step)
        kept += line + "\n";
    }
    write_text_file_atomic(path, kept);
  }
  file_ = std::fopen(path.c_str(), "a");
  if (!file_) fail_input(path, std::string("cannot open for appending: ") + std::strerror(errno));
}

MetricsLog::~MetricsLog() {
  if (file_) std::fclose(file_);
}

void MetricsLog::append(const StepRecord& r) {
  const std::string line = step_record_json(r).dump() + "\n";
  if (std::fputs(line.c_str(), file_) < 0 || std::fflush(file_) != 0)
    fail_input(path_, std::string("write failed: ") + std::strerror(errno));
}

}  // namespace ll
