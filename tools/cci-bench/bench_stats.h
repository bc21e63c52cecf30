// Summaries of repeated measurements: median, min, max (and the values), and percentiles.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <utility>
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

inline double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// A 95 % confidence interval of the median: the 2.5th and 97.5th percentiles of the medians of
// `resamples` bootstrap resamples (drawn with replacement, fixed seed: the same values give the
// same interval).
inline std::pair<double, double> median_ci95(const std::vector<double>& v, int resamples = 4000) {
  if (v.size() < 2) return {median_of(v), median_of(v)};
  std::mt19937_64 rng(0x5eed);
  std::uniform_int_distribution<size_t> pick(0, v.size() - 1);
  std::vector<double> medians, draw(v.size());
  medians.reserve(static_cast<size_t>(resamples));
  for (int r = 0; r < resamples; ++r) {
    for (auto& x : draw) x = v[pick(rng)];
    medians.push_back(median_of(draw));
  }
  return {percentile(medians, 0.025), percentile(medians, 0.975)};
}

struct Summary {
  double median = 0, min = 0, max = 0;
  std::optional<std::pair<double, double>> ci95;
  std::vector<double> values;
  cli::Json to_json() const {
    cli::Json j{{"median", median}, {"min", min}, {"max", max}};
    if (ci95) j["ci95"] = {ci95->first, ci95->second};
    j["values"] = values;
    return j;
  }
};

inline Summary summarize(const std::vector<double>& v, bool with_ci = false) {
  Summary s;
  s.values = v;
  if (v.empty()) return s;
  s.median = median_of(v);
  s.min = *std::min_element(v.begin(), v.end());
  s.max = *std::max_element(v.begin(), v.end());
  if (with_ci) s.ci95 = median_ci95(v);
  return s;
}

}  // namespace cci::tools::bench
