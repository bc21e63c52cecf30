// cci-bench hash: cci-measure's model hashing throughput versus the single-core SHA-256
// speed of this machine's OpenSSL. Goals (foundation issue): throughput >= 0.85 x
// single-core speed x threads used, and peak RSS under 64 MiB whatever the model size.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>

#include "base/file_io.h"
#include "base/unique_fd.h"
#include "cli/progress.h"
#include "bench_util.h"
#include "commands.h"
#include "crypto/digest.h"

namespace cci::tools::bench {
namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct HashBenchOptions {
  std::string dir;  // empty: a fresh temporary directory, removed afterwards
  bool keep = false;
  unsigned large_files = 4;
  std::uint64_t large_size = 512ull << 20;
  unsigned small_files = 2000;
  std::uint64_t small_size = 16 << 10;
  unsigned threads = 0;
  unsigned repeat = 3;
  std::string measure_bin;
  bool check = false;
  double goal_ratio = 0.85;
  double goal_rss_mib = 64;
};

Status generate_model(const HashBenchOptions& o, const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir + "/tokenizer", ec);
  if (ec) return make_error(ErrorCode::kIo, "cannot create " + dir + ": " + ec.message());
  for (unsigned i = 0; i < o.large_files; ++i) {
    char name[96];
    std::snprintf(name, sizeof name, "/model-%05u-of-%05u.safetensors", i + 1, o.large_files);
    CCI_TRY(write_pattern_file(dir + name, o.large_size, i + 1));
  }
  for (unsigned i = 0; i < o.small_files; ++i) {
    CCI_TRY(write_pattern_file(dir + "/tokenizer/part-" + std::to_string(i) + ".json", o.small_size, 1000 + i));
  }
  return {};
}

// Single-core SHA-256 speed of this OpenSSL in bytes/s (1 MiB updates for ~1.5 s).
double sha256_single_core() {
  std::vector<std::uint8_t> buf(1 << 20, 0x5a);
  crypto::Hasher h(crypto::DigestAlg::kSha256);
  std::uint64_t bytes = 0;
  auto t0 = Clock::now();
  double secs = 0;
  do {
    for (int i = 0; i < 64; ++i) h.update(buf);
    bytes += 64ull * buf.size();
    secs = std::chrono::duration<double>(Clock::now() - t0).count();
  } while (secs < 1.5);
  (void)h.finish();
  return double(bytes) / secs;
}

int run_hash(const HashBenchOptions& o, const cli::Context& ctx) {
  const std::string schema = "cci.bench.hash.v1";
  std::string dir = o.dir;
  bool temp = dir.empty();
  if (temp) {
    std::string tmpl = (fs::temp_directory_path() / "cci-bench-hash-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      return ctx.fail(make_error(ErrorCode::kIo, "cannot create a temporary directory: " + errno_text(errno)), schema);
    }
    dir = tmpl;
  }
  struct Cleanup {
    std::string dir;
    bool active;
    ~Cleanup() {
      std::error_code ec;
      if (active) fs::remove_all(dir, ec);
    }
  } cleanup{dir, temp && !o.keep};

  std::uint64_t total = o.large_files * o.large_size + o.small_files * o.small_size;
  ctx.info("generating a model-like directory in " + dir + " (" + std::to_string(o.large_files) + " x " +
           cli::human_bytes(double(o.large_size)) + " + " + std::to_string(o.small_files) + " x " +
           cli::human_bytes(double(o.small_size)) + " = " + cli::human_bytes(double(total)) + ")");
  auto g = generate_model(o, dir);
  if (!g) return ctx.fail(g.error(), schema);

  unsigned threads = o.threads != 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  std::string bin = find_measure_bin(o.measure_bin);
  std::vector<std::string> args{"model", dir, "--print-digest", "-j", std::to_string(threads), "--progress", "never", "-q"};
  ctx.info("warming the page cache (one untimed run of " + bin + ")");
  auto warm = run_measure(bin, args);
  if (!warm) return ctx.fail(warm.error(), schema);

  ctx.info("measuring single-core SHA-256 speed of " + crypto::openssl_version());
  double single = sha256_single_core();

  std::vector<RunResult> runs;
  for (unsigned i = 0; i < o.repeat; ++i) {
    auto r = run_measure(bin, args);
    if (!r) return ctx.fail(r.error(), schema);
    ctx.verbose("run " + std::to_string(i + 1) + ": " + std::to_string(r->seconds) + " s");
    runs.push_back(*r);
  }
  std::sort(runs.begin(), runs.end(), [](const RunResult& a, const RunResult& b) { return a.seconds < b.seconds; });
  double median = runs[runs.size() / 2].seconds;
  double peak_rss = 0;
  for (const auto& r : runs) peak_rss = std::max(peak_rss, r.max_rss_mib);
  double throughput = double(total) / median;
  double expected = single * threads;
  double ratio = throughput / expected;
  bool ok = ratio >= o.goal_ratio && peak_rss < o.goal_rss_mib;
  int rc = (o.check && !ok) ? 1 : 0;

  if (ctx.options().json) {
    ctx.out_json(schema, rc,
                 cli::Json{{"result", ok ? "pass" : "fail"},
                           {"openssl", crypto::openssl_version()},
                           {"cpus", std::thread::hardware_concurrency()},
                           {"threads", threads},
                           {"model_bytes", total},
                           {"files", o.large_files + o.small_files},
                           {"repeat", o.repeat},
                           {"sha256_single_core_bytes_per_s", single},
                           {"expected_bytes_per_s", expected},
                           {"cci_measure_bytes_per_s", throughput},
                           {"cci_measure_seconds_median", median},
                           {"ratio", ratio},
                           {"goal_ratio", o.goal_ratio},
                           {"peak_rss_mib", peak_rss},
                           {"goal_rss_mib", o.goal_rss_mib}});
    return rc;
  }
  char line[256];
  auto gbs = [](double b) { return b / 1e9; };
  ctx.out("cci-bench hash (warm page cache, median of " + std::to_string(o.repeat) + " runs)");
  std::snprintf(line, sizeof line, "  %-40s %10.3f GB/s", "SHA-256 single core (OpenSSL)", gbs(single));
  ctx.out(line);
  std::snprintf(line, sizeof line, "  %-40s %10u", "threads used", threads);
  ctx.out(line);
  std::snprintf(line, sizeof line, "  %-40s %10.3f GB/s", "machine limit (single core x threads)", gbs(expected));
  ctx.out(line);
  std::snprintf(line, sizeof line, "  %-40s %10.3f GB/s  (%s in %.2f s)", "cci-measure model throughput", gbs(throughput),
                cli::human_bytes(double(total)).c_str(), median);
  ctx.out(line);
  std::snprintf(line, sizeof line, "  %-40s %10.3f   goal >= %.2f  %s", "ratio", ratio, o.goal_ratio,
                ctx.paint_ok(ratio >= o.goal_ratio).c_str());
  ctx.out(line);
  std::snprintf(line, sizeof line, "  %-40s %10.1f MiB  goal < %.0f MiB  %s", "cci-measure peak RSS", peak_rss,
                o.goal_rss_mib, ctx.paint_ok(peak_rss < o.goal_rss_mib).c_str());
  ctx.out(line);
  return rc;
}

}  // namespace

void add_hash(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<HashBenchOptions>();
  auto* sub = app.add_subcommand("hash", "Model hashing throughput of cci-measure versus single-core SHA-256 x threads");
  sub->footer(
      "Generates a model-like directory (large weight files + many small files), warms the page\n"
      "cache, runs `cci-measure model DIR --print-digest` --repeat times and reports the median\n"
      "throughput, its ratio to (single-core SHA-256 speed x threads) and cci-measure's peak RSS.\n"
      "Example:\n"
      "  cci-bench hash --large-files 2 --large-size 268435456 --small-files 500 --json");
  sub->add_option("--dir", o->dir, "Generate the model here (default: a temporary directory, removed afterwards)");
  sub->add_flag("--keep", o->keep, "Keep the generated temporary directory");
  sub->add_option("--large-files", o->large_files, "Number of large weight files")->capture_default_str();
  sub->add_option("--large-size", o->large_size, "Bytes per large file")->capture_default_str();
  sub->add_option("--small-files", o->small_files, "Number of small files")->capture_default_str();
  sub->add_option("--small-size", o->small_size, "Bytes per small file")->capture_default_str();
  sub->add_option("-j,--threads", o->threads, "Threads for cci-measure (default: all CPUs)");
  sub->add_option("--repeat", o->repeat, "Timed runs (median reported)")->check(CLI::PositiveNumber)->capture_default_str();
  sub->add_option("--measure-bin", o->measure_bin, "cci-measure executable (default: next to cci-bench)");
  sub->add_flag("--check", o->check, "Exit 1 when a goal is missed");
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_hash(*o, ctx); }; });
}

}  // namespace cci::tools::bench
