// cci-bench overhead's runs: the native engine and the attested, isolated serving path, like for
// like and interleaved (bench_overhead.cpp prints and charts what these measure).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "bench_models.h"
#include "cli/tool.h"

namespace cci::tools::bench {

struct OverheadOptions {
  std::string model, shape, plot, keep, cpus;
  int threads = 2, runs = 5;
  int instances = 1;  // fresh server, worker and native engine for each; runs are pooled
  std::int64_t prompt = 0, generate = 0;
  double goal_decode = 0.01, goal_ttft = 0.05, goal_engine = 0.01;
  double busy_limit = 0.05;  // CPU other processes may use, as a fraction of one CPU, before the verdict is void
  double stream_interval = -1;  // the server's --stream-interval; negative: its default
  bool check = false;
};

// One run as the client sees it, and as the engine did it.
struct Sample {
  double ttft = 0, prefill = 0, decode = 0;  // seconds, tokens/s, tokens/s (the client's clock)
  // The engine's own figures: native, from this process; secure, from the worker's log for
  // this request. engine_decode excludes the output handling (detokenizing, handing text on).
  double engine_prefill = 0;  // seconds
  double engine_decode = 0;   // tokens/s
  double output = 0;          // seconds spent on output handling during decode
  double pieces = 0;          // secure: pieces of text the stream carried (each woke the connection process and the client)
};

// CPU time used over a window: by everything (from /proc/stat), and by this benchmark and the
// server's processes (their /proc/PID/stat); the rest is other processes' load. Both count in
// clock ticks, so `slack` (a tick per process read, and two) is not held against the machine.
struct CpuUse {
  double wall = 0, all = 0, ours = 0, slack = 0;  // seconds
  double others_fraction_of_one_cpu() const { return wall > 0 ? std::max(0.0, all - ours - slack) / wall : 0; }
};

struct MachineLoad {
  int cpus = 0;
  CpuUse quiet;  // one second before the runs, with the benchmark and the server idle
  CpuUse runs;   // while the runs went on
  double others_fraction_of_one_cpu() const { return std::max(quiet.others_fraction_of_one_cpu(), runs.others_fraction_of_one_cpu()); }
};

struct Measured {
  std::vector<Sample> native, secure;
  std::int64_t prompt_tokens = 0;
  int reconnects = 0;  // the kept connection was closed by the server between runs (idle) and reopened
  MachineLoad load;  // the busiest instance's
  int instances = 1;
  cli::Json one_time;  // the first instance's
  cli::Json memory;  // per process after the runs: this benchmark, the server, its workers (MiB)
  // The BLAS kernel sets the prefill ran on (infer::blas_kernels): this process's and the worker's
  // (from its "ready" log event). Different sets compute at different speeds, so no verdict.
  std::string blas_native, blas_worker;
  // Whether every secure run's client thread ran with the shortest scheduler slice (overhead_runs.cpp:
  // a client on the server's CPUs would otherwise read each piece of text up to ~3 ms late).
  bool client_short_slice = true;
};

// Restricts this process (and the server it starts) to the CPUs in `list` ("0-1", "0,2").
Status pin_to_cpus(const std::string& list);

// Starts cci-run serve (simulated SEV-SNP), verifies it, then measures o.runs interleaved pairs.
Result<Measured> measure_overhead(const OverheadOptions& o, const BenchModel& bm, const std::string& work, const cli::Context& ctx);

}  // namespace cci::tools::bench
