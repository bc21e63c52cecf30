// Shared pieces of the benchmarks: generated input files and timed runs of the real tools.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/result.h"
#include "cli/tool.h"

namespace cci::tools::bench {

// Writes `size` bytes of deterministic incompressible-looking content (xorshift64*).
Status write_pattern_file(const std::string& path, std::uint64_t size, std::uint64_t seed);

// A private scratch directory (mkdtemp under $TMPDIR, mode 0700), removed with everything in it
// when the object goes, unless keep() was called. Move-only.
class ScratchDir {
 public:
  static Result<ScratchDir> create(const std::string& prefix);  // e.g. "cci-bench-users"
  ScratchDir(ScratchDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ScratchDir& operator=(ScratchDir&&) = delete;
  ~ScratchDir();
  const std::string& path() const { return path_; }

 private:
  explicit ScratchDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// "1,2,4": each item an integer in [lo, hi]; the error names `flag`.
Result<std::vector<int>> parse_int_list(const std::string& text, int lo, int hi, const std::string& flag);

// `given`, else the tool next to this executable (build tree or install), else `tool` on PATH.
std::string find_tool_bin(const std::string& tool, const std::string& given);
std::string find_measure_bin(const std::string& given);

// The "Key: N kB" lines of /proc/PID/<file> ("status", "smaps_rollup"), in KiB by key ("VmHWM",
// "Rss", ...); empty when the process is gone or unreadable.
std::map<std::string, double> proc_kib(pid_t pid, const std::string& file);

// Writes every file below `dir` back to disk and drops it from the page cache, so that a timed
// run reads clean pages (a file still being written back hashes 1.38 x slower).
Status settle_files(const std::string& dir);

// This machine, for every benchmark's JSON ("machine"): CPU model, logical cores, memory (GiB),
// kernel release. The inference benchmarks add the read bandwidth (bench_models.h).
cli::Json machine_basics();

struct RunResult {
  double seconds = 0;
  double max_rss_mib = 0;
};

// Runs `bin args...` with stdout to `stdout_path` (and stderr to /dev/null when quiet); wall
// time (to within the 5 ms polling step) and the child's own peak RSS (VmHWM). Any exit
// status but 0 is an error.
Result<RunResult> run_measure(const std::string& bin, const std::vector<std::string>& args, const std::string& stdout_path = "/dev/null",
                              bool quiet_stderr = false);

}  // namespace cci::tools::bench
