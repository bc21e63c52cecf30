// Shared pieces of the benchmarks: generated input files and timed runs of the real tools.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace cci::tools::bench {

// Writes `size` bytes of deterministic incompressible-looking content (xorshift64*).
Status write_pattern_file(const std::string& path, std::uint64_t size, std::uint64_t seed);

// `given`, else the cci-measure next to this executable, else "cci-measure" on PATH.
std::string find_measure_bin(const std::string& given);

struct RunResult {
  double seconds = 0;
  double max_rss_mib = 0;
};

// Runs `bin args...` with stdout to /dev/null; wall time and peak RSS (wait4 rusage).
Result<RunResult> run_measure(const std::string& bin, const std::vector<std::string>& args);

}  // namespace cci::tools::bench
