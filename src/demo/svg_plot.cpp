#include "demo/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

namespace ll::demo {

namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else out += c;
  }
  return out;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string tick_label(double v) {
  char buf[32];
  if (v >= 100) std::snprintf(buf, sizeof buf, "%.0f", v);
  else if (v >= 10) std::snprintf(buf, sizeof buf, "%.0f", v);
  else std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

const char* const kColors[] = {"#7f7f7f", "#bcbd22", "#d62728", "#ff7f0e", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b"};

}  // namespace

std::string svg_line_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                           const std::vector<Series>& series) {
  const double W = 760, H = 460, left = 70, right = 250, top = 40, bottom = 60;
  const double pw = W - left - right, ph = H - top - bottom;
  double xmin = std::numeric_limits<double>::max(), xmax = 0, ymin = std::numeric_limits<double>::max(), ymax = 0;
  for (const Series& s : series)
    for (const Point& p : s.points) {
      xmin = std::min(xmin, p.x), xmax = std::max(xmax, p.x);
      ymin = std::min({ymin, p.y, p.lo}), ymax = std::max({ymax, p.y, p.hi});
    }
  if (xmax <= 0) xmin = 1, xmax = 2;
  if (ymax <= 0) ymin = 1, ymax = 10;
  // Log scales, y padded to whole steps of a 1-2-5 ladder.
  const double lx0 = std::log2(xmin), lx1 = std::max(std::log2(xmax), lx0 + 1);
  const double ly0 = std::log10(ymin) - 0.05, ly1 = std::max(std::log10(ymax) + 0.05, ly0 + 0.3);
  auto px = [&](double x) { return left + (std::log2(x) - lx0) / (lx1 - lx0) * pw; };
  auto py = [&](double y) { return top + ph - (std::log10(y) - ly0) / (ly1 - ly0) * ph; };

  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(W) + "\" height=\"" + num(H) +
                  "\" viewBox=\"0 0 " + num(W) + " " + num(H) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s += "<text x=\"" + num(left + pw / 2) + "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" + escape(title) + "</text>\n";
  s += "<rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\"" + num(pw) + "\" height=\"" + num(ph) +
       "\" fill=\"none\" stroke=\"#333\"/>\n";
  // x ticks at the powers of two that occur
  for (double lx = std::ceil(lx0); lx <= lx1 + 1e-9; lx += 1) {
    const double x = std::exp2(lx);
    s += "<line x1=\"" + num(px(x)) + "\" y1=\"" + num(top) + "\" x2=\"" + num(px(x)) + "\" y2=\"" + num(top + ph) +
         "\" stroke=\"#ddd\"/>\n";
    s += "<text x=\"" + num(px(x)) + "\" y=\"" + num(top + ph + 18) + "\" text-anchor=\"middle\">" + tick_label(x) + "</text>\n";
  }
  // y ticks: 1, 2, 5 × 10^k inside the range; a finer ladder when it spans less than ~1.5 decades
  const std::vector<double> ladder = ly1 - ly0 > 1.5 ? std::vector<double>{1, 2, 5}
                                                     : std::vector<double>{1, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8};
  for (int k = static_cast<int>(std::floor(ly0)); k <= static_cast<int>(std::ceil(ly1)); ++k)
    for (double m : ladder) {
      const double y = m * std::pow(10.0, k), ly = std::log10(y);
      if (ly < ly0 || ly > ly1) continue;
      s += "<line x1=\"" + num(left) + "\" y1=\"" + num(py(y)) + "\" x2=\"" + num(left + pw) + "\" y2=\"" + num(py(y)) +
           "\" stroke=\"#eee\"/>\n";
      s += "<text x=\"" + num(left - 6) + "\" y=\"" + num(py(y) + 4) + "\" text-anchor=\"end\">" + tick_label(y) + "</text>\n";
    }
  s += "<text x=\"" + num(left + pw / 2) + "\" y=\"" + num(H - 18) + "\" text-anchor=\"middle\">" + escape(x_label) + "</text>\n";
  s += "<text transform=\"translate(18," + num(top + ph / 2) + ") rotate(-90)\" text-anchor=\"middle\">" + escape(y_label) +
       "</text>\n";
  for (size_t i = 0; i < series.size(); ++i) {
    const char* color = kColors[i % (sizeof kColors / sizeof kColors[0])];
    std::string pts;
    for (const Point& p : series[i].points) pts += num(px(p.x)) + "," + num(py(p.y)) + " ";
    s += "<polyline fill=\"none\" stroke=\"" + std::string(color) + "\" stroke-width=\"2.2\" points=\"" + pts + "\"/>\n";
    for (const Point& p : series[i].points) {
      if (p.hi > p.lo) {  // the error bar with caps
        const double x = px(p.x), y0 = py(p.lo), y1 = py(p.hi);
        s += "<path class=\"error-bar\" d=\"M" + num(x) + "," + num(y0) + "V" + num(y1) + "M" + num(x - 4) + "," +
             num(y0) + "H" + num(x + 4) + "M" + num(x - 4) + "," + num(y1) + "H" + num(x + 4) + "\" stroke=\"" + color +
             "\" stroke-width=\"1.4\"/>\n";
      }
      s += "<circle cx=\"" + num(px(p.x)) + "\" cy=\"" + num(py(p.y)) + "\" r=\"3.5\" fill=\"" + color + "\"/>\n";
    }
    const double ly = top + 14 + 22.0 * static_cast<double>(i);
    s += "<line x1=\"" + num(left + pw + 14) + "\" y1=\"" + num(ly - 4) + "\" x2=\"" + num(left + pw + 38) + "\" y2=\"" +
         num(ly - 4) + "\" stroke=\"" + color + "\" stroke-width=\"3\"/>\n";
    s += "<text x=\"" + num(left + pw + 44) + "\" y=\"" + num(ly) + "\">" + escape(series[i].label) + "</text>\n";
  }
  return s + "</svg>\n";
}

}  // namespace ll::demo
