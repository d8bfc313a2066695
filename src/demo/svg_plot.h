// A line chart as a standalone SVG: perplexity against context, one line per model, log scales.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace ll::demo {

struct Series {
  std::string label;
  std::vector<std::pair<double, double>> points;  // (x, y), x and y > 0
};

std::string svg_line_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                           const std::vector<Series>& series);

}  // namespace ll::demo
