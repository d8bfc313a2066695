// A line chart as a standalone SVG: perplexity against context, one line per model, log scales,
// each point with an error bar over its range (the seeds' min–max) when that range is not empty.
#pragma once
#include <string>
#include <vector>

namespace ll::demo {

struct Point {
  double x, y;    // > 0
  double lo, hi;  // the bar: lo ≤ y ≤ hi (lo == hi: no bar)
};

struct Series {
  std::string label;
  std::vector<Point> points;
};

std::string svg_line_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                           const std::vector<Series>& series);

}  // namespace ll::demo
