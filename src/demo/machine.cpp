#include "demo/machine.h"

#include <cmath>
#include <fstream>

namespace ll::demo {

namespace {
std::string cpuinfo() {
  std::ifstream in("/proc/cpuinfo");
  return std::string(std::istreambuf_iterator<char>(in), {});
}
}  // namespace

std::string cpu_model() {
  const std::string info = cpuinfo();
  const size_t m = info.find("model name");
  if (m == std::string::npos) return "unknown CPU";
  const size_t colon = info.find(':', m), end = info.find('\n', m);
  if (colon == std::string::npos || colon > end) return "unknown CPU";
  return info.substr(colon + 2, end - colon - 2);
}

int logical_cpus() {
  const std::string info = cpuinfo();
  int n = 0;
  for (size_t pos = 0; (pos = info.find("\nprocessor", pos)) != std::string::npos; ++pos) ++n;
  return n + (info.rfind("processor", 0) == 0 ? 1 : 0);
}

double load_average() {
  std::ifstream in("/proc/loadavg");
  double one_minute = NAN;
  if (!(in >> one_minute)) return NAN;
  return one_minute;
}

}  // namespace ll::demo
