#include "demo/results.h"

#include <algorithm>
#include <cstdio>

namespace ll::demo {

Cell cell_of(const std::vector<double>& values) {
  Cell c;
  for (double v : values) {
    if (!std::isfinite(v)) return Cell{};  // a failed evaluation is no measurement
    c.lo = c.n ? std::min(c.lo, v) : v;
    c.hi = c.n ? std::max(c.hi, v) : v;
    c.mean = c.n ? c.mean + v : v;
    ++c.n;
  }
  if (c.n) c.mean /= c.n;
  return c;
}

std::string number_text(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, v >= 1000 ? "%.0f" : v >= 100 ? "%.1f" : "%.2f", v);
  return buf;
}

std::string cell_text(const Cell& c) {
  if (!c.measured()) return "—";
  if (c.n == 1) return number_text(c.mean);
  return number_text(c.mean) + " ± " + number_text((c.hi - c.lo) / 2) + " (" + number_text(c.lo) + "–" +
         number_text(c.hi) + ")";
}

Cell ModelResult::at(int64_t context) const {
  const auto it = perplexity.find(context);
  return it == perplexity.end() ? Cell{} : cell_of(it->second);
}

Cell ModelResult::training(const std::string& field) const {
  std::vector<double> values;
  for (const nlohmann::json& r : runs) {
    if (!r.contains(field)) return Cell{};
    values.push_back(r.at(field).get<double>());
  }
  return cell_of(values);
}

}  // namespace ll::demo
