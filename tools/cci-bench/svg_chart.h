// Small self-contained SVG charts for the benchmarks (open in any browser): panels of bars with
// min-max error bars, and a line chart. Plain SVG 1.1, no script, no external fonts.
#pragma once

#include <string>
#include <vector>

namespace cci::tools::bench {

struct Bar {
  std::string label;
  double value = 0, lo = 0, hi = 0;  // lo/hi: the error bar (min and max over runs)
  std::string color = "#4878d0";
};

struct BarPanel {
  std::string title, unit;
  std::vector<Bar> bars;
};

struct LineSeries {
  std::string name, color;
  std::vector<std::pair<double, double>> points;
};

// Side by side panels, each with its own scale from 0.
std::string bar_panels_svg(const std::string& title, const std::string& subtitle, const std::vector<BarPanel>& panels);
std::string line_chart_svg(const std::string& title, const std::string& subtitle, const std::string& x_label, const std::string& y_label,
                           const std::vector<LineSeries>& series);

}  // namespace cci::tools::bench
