// Summaries of repeated measurements: median, min, max (and the values), and percentiles.
#pragma once

#include <algorithm>
#include <vector>

#include "cli/tool.h"

namespace cci::tools::bench {

// The value at fraction p (0..1) of the sorted values (nearest rank); 0 for none.
inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
  return v[i];
}

struct Summary {
  double median = 0, min = 0, max = 0;
  std::vector<double> values;
  cli::Json to_json() const { return cli::Json{{"median", median}, {"min", min}, {"max", max}, {"values", values}}; }
};

inline Summary summarize(const std::vector<double>& v) {
  Summary s;
  s.values = v;
  if (v.empty()) return s;
  std::vector<double> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  s.median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  s.min = sorted.front();
  s.max = sorted.back();
  return s;
}

}  // namespace cci::tools::bench
