// Shared pieces of the benchmarks: generated input files and timed runs of the real tools.
#include "bench_util.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "base/file_io.h"
#include "base/unique_fd.h"

extern char** environ;

namespace cci::tools::bench {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Writes every file of `dir` back to disk and drops it from the page cache.
Status settle_files(const std::string& dir) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    UniqueFd fd(::open(it->path().c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return make_error(ErrorCode::kIo, "cannot open " + it->path().string() + ": " + errno_text(errno));
    if (::fdatasync(fd.get()) != 0) return make_error(ErrorCode::kIo, "cannot sync " + it->path().string() + ": " + errno_text(errno));
    (void)::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED);
  }
  if (ec) return make_error(ErrorCode::kIo, "cannot list " + dir + ": " + ec.message());
  return {};
}

cli::Json machine_basics() {
  std::string cpu = "unknown";
  std::ifstream info("/proc/cpuinfo");
  for (std::string line; std::getline(info, line);) {
    if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) {
      cpu = line.substr(std::min(line.find(':') + 2, line.size()));
      break;
    }
  }
  double mem_gib = 0;
  std::ifstream meminfo("/proc/meminfo");
  for (std::string line; std::getline(meminfo, line);) {
    if (line.rfind("MemTotal:", 0) == 0) mem_gib = std::strtod(line.c_str() + 9, nullptr) / (1024.0 * 1024.0);
  }
  utsname u{};
  const std::string kernel = ::uname(&u) == 0 ? std::string(u.release) : "unknown";
  return cli::Json{{"cpu", cpu}, {"logical_cores", std::thread::hardware_concurrency()}, {"memory_gib", mem_gib}, {"kernel", kernel}};
}

// Deterministic incompressible-looking content (xorshift64*).
Status write_pattern_file(const std::string& path, std::uint64_t size, std::uint64_t seed) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return make_error(ErrorCode::kIo, "cannot create " + path + ": " + errno_text(errno));
  std::vector<std::uint64_t> buf(1 << 17);  // 1 MiB
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  std::uint64_t left = size;
  while (left > 0) {
    for (auto& w : buf) {
      x ^= x >> 12;
      x ^= x << 25;
      x ^= x >> 27;
      w = x * 0x2545F4914F6CDD1Dull;
    }
    size_t n = static_cast<size_t>(std::min<std::uint64_t>(left, buf.size() * 8));
    const auto* p = reinterpret_cast<const std::uint8_t*>(buf.data());
    size_t off = 0;
    while (off < n) {
      ssize_t w = ::write(fd.get(), p + off, n - off);
      if (w < 0) return make_error(ErrorCode::kIo, "cannot write " + path + ": " + errno_text(errno));
      off += static_cast<size_t>(w);
    }
    left -= n;
  }
  return {};
}

Result<ScratchDir> ScratchDir::create(const std::string& prefix) {
  std::string tmpl = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) return make_error(ErrorCode::kIo, "cannot create a temporary directory: " + errno_text(errno));
  return ScratchDir(tmpl);
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  if (!path_.empty()) fs::remove_all(path_, ec);
}

Result<std::vector<int>> parse_int_list(const std::string& text, int lo, int hi, const std::string& flag) {
  const auto bad = [&] {
    return make_error(ErrorCode::kUsage, "--" + flag + " takes a comma-separated list like 1,2 (each " + std::to_string(lo) + "-" + std::to_string(hi) + ")", flag);
  };
  std::vector<int> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v < lo || v > hi) return bad();
    out.push_back(static_cast<int>(v));
  }
  if (out.empty()) return bad();
  return out;
}

std::string find_tool_bin(const std::string& tool, const std::string& given) {
  if (!given.empty()) return given;
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec).parent_path();
  for (const auto& cand : {self / ".." / tool / tool, self / tool}) {
    if (fs::exists(cand, ec)) return fs::weakly_canonical(cand, ec).string();
  }
  return tool;
}

std::string find_measure_bin(const std::string& given) { return find_tool_bin("cci-measure", given); }

// Runs cci-measure and returns wall time and its peak RSS (from wait4's rusage).
std::map<std::string, double> proc_kib(pid_t pid, const std::string& file) {
  std::map<std::string, double> out;
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + file);
  for (std::string line; std::getline(in, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos || line.find(" kB") == std::string::npos) continue;
    out[line.substr(0, colon)] = std::strtod(line.c_str() + colon + 1, nullptr);
  }
  return out;
}

Result<RunResult> run_measure(const std::string& bin, const std::vector<std::string>& args, const std::string& stdout_path, bool quiet_stderr) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(bin.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (quiet_stderr) posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  auto t0 = Clock::now();
  int rc = posix_spawnp(&pid, bin.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return make_error(ErrorCode::kIo, "cannot start " + bin + ": " + errno_text(rc));
  // Peak memory is the child's own VmHWM, sampled every 5 ms until it exits. wait4's
  // ru_maxrss is no use here: the kernel folds the spawning process's high-water mark into
  // it at exec (posix_spawn runs the child on this process's memory until then), so a
  // benchmark process holding libtorch would report its own 150 MiB. VmHWM is a high-water
  // mark, so only growth in the last sample interval could be missed. The wall time comes
  // from a blocking wait, not from the sampling.
  std::atomic<bool> done{false};
  std::atomic<double> hwm_kib{0};
  std::thread sampler([&] {
    while (!done.load()) {
      const auto fields = proc_kib(pid, "status");
      if (auto it = fields.find("VmHWM"); it != fields.end() && it->second > hwm_kib.load()) hwm_kib = it->second;
      ::usleep(5000);
    }
  });
  int status = 0;
  pid_t w;
  do {
    w = ::waitpid(pid, &status, 0);
  } while (w < 0 && errno == EINTR);
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  done = true;
  sampler.join();
  if (w != pid) return make_error(ErrorCode::kInternal, "waitpid failed: " + errno_text(errno));
  RunResult r;
  r.seconds = seconds;
  r.max_rss_mib = hwm_kib.load() / 1024.0;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return make_error(ErrorCode::kInternal, bin + " failed (status " + std::to_string(status) + ")");
  }
  return r;
}

}  // namespace cci::tools::bench
