#include "svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace cci::tools::bench {
namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

std::string fmt_tick(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}

std::string fmt_value(double v) {
  char b[32];
  if (v >= 100) std::snprintf(b, sizeof b, "%.0f", v);
  else if (v >= 10) std::snprintf(b, sizeof b, "%.1f", v);
  else std::snprintf(b, sizeof b, "%.2f", v);
  return b;
}

// A "nice" axis top: 1, 2 or 5 times a power of ten, at least `v`.
double nice_top(double v) {
  if (v <= 0) return 1;
  const double p = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * p >= v) return m * p;
  }
  return 10 * p;
}

std::string text(double x, double y, const std::string& s, const std::string& attrs = "") {
  return "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" " + attrs + ">" + escape(s) + "</text>\n";
}

std::string header(double w, double h, const std::string& title, const std::string& subtitle) {
  std::string s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(w) + "\" height=\"" + num(h) +
                  "\" viewBox=\"0 0 " + num(w) + " " + num(h) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s += text(16, 24, title, "font-size=\"16\" font-weight=\"bold\"");
  s += text(16, 42, subtitle, "fill=\"#555\"");
  return s;
}

}  // namespace

std::string bar_panels_svg(const std::string& title, const std::string& subtitle, const std::vector<BarPanel>& panels) {
  const double panel_w = 260, plot_h = 260, top = 70, left = 60, w = 20 + panel_w * static_cast<double>(panels.size()), h = top + plot_h + 70;
  std::string s = header(w, h, title, subtitle);
  for (size_t p = 0; p < panels.size(); ++p) {
    const auto& panel = panels[p];
    const double x0 = 10 + panel_w * static_cast<double>(p) + left, plot_w = panel_w - left - 20;
    double top_value = 0;
    for (const auto& b : panel.bars) top_value = std::max({top_value, b.value, b.hi});
    const double ymax = nice_top(top_value * 1.05);
    auto y_of = [&](double v) { return top + plot_h - v / ymax * plot_h; };
    s += text(x0 + plot_w / 2, top - 8, panel.title, "text-anchor=\"middle\" font-weight=\"bold\"");
    for (int t = 0; t <= 4; ++t) {
      const double v = ymax * t / 4, y = y_of(v);
      s += "<line x1=\"" + num(x0) + "\" y1=\"" + num(y) + "\" x2=\"" + num(x0 + plot_w) + "\" y2=\"" + num(y) + "\" stroke=\"#ddd\"/>\n";
      s += text(x0 - 6, y + 4, fmt_tick(v), "text-anchor=\"end\" fill=\"#555\"");
    }
    s += text(x0 - 44, top + plot_h / 2, panel.unit,
              "text-anchor=\"middle\" fill=\"#555\" transform=\"rotate(-90 " + num(x0 - 44) + " " + num(top + plot_h / 2) + ")\"");
    const double slot = plot_w / static_cast<double>(std::max<size_t>(1, panel.bars.size())), bw = slot * 0.6;
    for (size_t i = 0; i < panel.bars.size(); ++i) {
      const auto& b = panel.bars[i];
      const double cx = x0 + slot * (static_cast<double>(i) + 0.5);
      s += "<rect x=\"" + num(cx - bw / 2) + "\" y=\"" + num(y_of(b.value)) + "\" width=\"" + num(bw) + "\" height=\"" + num(top + plot_h - y_of(b.value)) +
           "\" fill=\"" + b.color + "\"/>\n";
      s += "<line x1=\"" + num(cx) + "\" y1=\"" + num(y_of(b.lo)) + "\" x2=\"" + num(cx) + "\" y2=\"" + num(y_of(b.hi)) + "\" stroke=\"black\"/>\n";
      for (double v : {b.lo, b.hi}) {
        s += "<line x1=\"" + num(cx - 6) + "\" y1=\"" + num(y_of(v)) + "\" x2=\"" + num(cx + 6) + "\" y2=\"" + num(y_of(v)) + "\" stroke=\"black\"/>\n";
      }
      s += text(cx, y_of(b.hi) - 6, fmt_value(b.value), "text-anchor=\"middle\"");
      s += text(cx, top + plot_h + 18, b.label, "text-anchor=\"middle\"");
    }
    s += "<line x1=\"" + num(x0) + "\" y1=\"" + num(top + plot_h) + "\" x2=\"" + num(x0 + plot_w) + "\" y2=\"" + num(top + plot_h) + "\" stroke=\"black\"/>\n";
  }
  s += text(16, h - 16, "bars: median over runs; whiskers: min and max", "fill=\"#555\"");
  return s + "</svg>\n";
}

std::string line_chart_svg(const std::string& title, const std::string& subtitle, const std::string& x_label, const std::string& y_label,
                           const std::vector<LineSeries>& series) {
  const double w = 640, h = 420, left = 70, right = 170, top = 60, bottom = 60, plot_w = w - left - right, plot_h = h - top - bottom;
  double xmax = 0, ymax = 0;
  for (const auto& l : series) {
    for (const auto& [x, y] : l.points) xmax = std::max(xmax, x), ymax = std::max(ymax, y);
  }
  ymax = nice_top(ymax * 1.05);
  xmax = std::max(1.0, xmax);
  auto x_of = [&](double x) { return left + x / xmax * plot_w; };
  auto y_of = [&](double y) { return top + plot_h - y / ymax * plot_h; };
  std::string s = header(w, h, title, subtitle);
  for (int t = 0; t <= 4; ++t) {
    const double v = ymax * t / 4, y = y_of(v);
    s += "<line x1=\"" + num(left) + "\" y1=\"" + num(y) + "\" x2=\"" + num(left + plot_w) + "\" y2=\"" + num(y) + "\" stroke=\"#ddd\"/>\n";
    s += text(left - 6, y + 4, fmt_tick(v), "text-anchor=\"end\" fill=\"#555\"");
  }
  for (const auto& l : series) {
    std::string pts;
    for (const auto& [x, y] : l.points) pts += num(x_of(x)) + "," + num(y_of(y)) + " ";
    s += "<polyline points=\"" + pts + "\" fill=\"none\" stroke=\"" + l.color + "\" stroke-width=\"2\"/>\n";
    for (const auto& [x, y] : l.points) {
      s += "<circle cx=\"" + num(x_of(x)) + "\" cy=\"" + num(y_of(y)) + "\" r=\"4\" fill=\"" + l.color + "\"/>\n";
      s += text(x_of(x), y_of(y) - 8, fmt_value(y), "text-anchor=\"middle\" font-size=\"10\"");
    }
  }
  if (!series.empty()) {
    for (const auto& [x, y] : series.front().points) s += text(x_of(x), top + plot_h + 18, fmt_tick(x), "text-anchor=\"middle\"");
  }
  s += "<line x1=\"" + num(left) + "\" y1=\"" + num(top + plot_h) + "\" x2=\"" + num(left + plot_w) + "\" y2=\"" + num(top + plot_h) + "\" stroke=\"black\"/>\n";
  s += text(left + plot_w / 2, h - 18, x_label, "text-anchor=\"middle\"");
  s += text(18, top + plot_h / 2, y_label, "text-anchor=\"middle\" transform=\"rotate(-90 18 " + num(top + plot_h / 2) + ")\"");
  for (size_t i = 0; i < series.size(); ++i) {
    const double y = top + 10 + 20 * static_cast<double>(i);
    s += "<rect x=\"" + num(w - right + 16) + "\" y=\"" + num(y - 9) + "\" width=\"12\" height=\"12\" fill=\"" + series[i].color + "\"/>\n";
    s += text(w - right + 34, y + 1, series[i].name);
  }
  return s + "</svg>\n";
}

}  // namespace cci::tools::bench
