#include "train/data_summary.h"

#include <cstdio>
#include <filesystem>

namespace ll {

std::string short_count(int64_t n) {
  if (n < 1000) return std::to_string(n);
  const char* suffixes = "KMGTP";
  double value = static_cast<double>(n);
  int power = -1;
  while (value >= 999.5 && power < 4) {
    value /= 1000;
    ++power;
  }
  char text[32];
  const char* format = value < 9.995 ? "%.2f%c" : value < 99.95 ? "%.1f%c" : "%.0f%c";
  std::snprintf(text, sizeof text, format, value, suffixes[power]);
  return text;
}

std::string data_name(const std::string& path) {
  std::filesystem::path p(path);
  if (!p.has_filename()) p = p.parent_path();  // a trailing '/'
  return p.filename().string();
}

}  // namespace ll
