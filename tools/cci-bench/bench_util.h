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

// `given`, else the tool next to this executable (build tree or install), else `tool` on PATH.
std::string find_tool_bin(const std::string& tool, const std::string& given);
std::string find_measure_bin(const std::string& given);

struct RunResult {
  double seconds = 0;
  double max_rss_mib = 0;
};

// Runs `bin args...` with stdout to `stdout_path` (and stderr to /dev/null when quiet); wall
// time and peak RSS (wait4 rusage). Any exit status but 0 is an error.
Result<RunResult> run_measure(const std::string& bin, const std::vector<std::string>& args, const std::string& stdout_path = "/dev/null",
                              bool quiet_stderr = false);

}  // namespace cci::tools::bench
