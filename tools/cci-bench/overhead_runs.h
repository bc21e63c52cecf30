// cci-bench overhead's runs: the native engine and the attested, isolated serving path, like for
// like and interleaved (bench_overhead.cpp prints and charts what these measure).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "bench_models.h"
#include "cli/tool.h"

namespace cci::tools::bench {

struct OverheadOptions {
  std::string model, shape, plot, keep;
  int threads = 2, runs = 5;
  std::int64_t prompt = 0, generate = 0;
  double goal_decode = 0.01, goal_ttft = 0.05;
  bool check = false;
};

struct Sample {
  double ttft = 0, prefill = 0, decode = 0;  // seconds, tokens/s, tokens/s
};

struct Measured {
  std::vector<Sample> native, secure;
  std::vector<double> worker_prefill, worker_decode;  // inside the worker (its log), secure runs
  std::int64_t prompt_tokens = 0;
  cli::Json one_time;
};

// Starts cci-run serve (simulated SEV-SNP), verifies it, then measures o.runs interleaved pairs.
Result<Measured> measure_overhead(const OverheadOptions& o, const BenchModel& bm, const std::string& work, const cli::Context& ctx);

}  // namespace cci::tools::bench
