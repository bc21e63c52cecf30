#include "manifest/model_hash.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "base/file_io.h"
#include "base/sigbus.h"
#include "base/unique_fd.h"

namespace cci::manifest {
namespace {

struct Task {
  size_t file;           // index into files
  std::uint64_t start;   // byte range [start, end)
  std::uint64_t end;
  size_t out;            // index into resources
};

std::int64_t mtime_ns(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

Error changed_error(const TreeFile& f) {
  return make_error(ErrorCode::kIo, f.name + " changed while it was being hashed (size or modification time)", f.name);
}

// Large ranges are hashed through read-only mappings of kMapWindow bytes (no copy out of
// the page cache; resident mapped pages stay bounded by the window). A file truncated while
// mapped raises SIGBUS on access; run_catching_sigbus (base/sigbus.h) turns that into a
// "changed" error instead of a crash.
constexpr std::uint64_t kMapThreshold = 4 << 20;
constexpr size_t kMapWindow = 8 << 20;

bool cancelled(const HashConfig& cfg) { return cfg.cancel != nullptr && cfg.cancel->load(std::memory_order_relaxed); }

Status hash_mapped(int fd, const TreeFile& f, std::uint64_t start, std::uint64_t end, crypto::Hasher& h,
                   const HashConfig& cfg) {
  ::posix_fadvise(fd, static_cast<off_t>(start), static_cast<off_t>(end - start), POSIX_FADV_SEQUENTIAL);
  std::uint64_t off = start;
  while (off < end) {
    if (cancelled(cfg)) return make_error(ErrorCode::kInternal, "interrupted");
    const std::uint64_t base = off & ~std::uint64_t{4095};  // mmap offsets are page aligned
    const size_t len = static_cast<size_t>(std::min<std::uint64_t>(kMapWindow, end - base));
    void* const m = ::mmap(nullptr, len, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, static_cast<off_t>(base));
    if (m == MAP_FAILED) return make_error(ErrorCode::kIo, "cannot map " + f.name + ": " + errno_text(errno), f.name);
    const size_t skip = static_cast<size_t>(off - base);
    const bool read = run_catching_sigbus([&] { h.update(ByteView(static_cast<const std::uint8_t*>(m) + skip, len - skip)); });
    ::munmap(m, len);
    if (!read) return changed_error(f);  // SIGBUS: the file shrank under the mapping
    off = base + len;
    if (cfg.on_bytes) cfg.on_bytes(len - skip);
  }
  return {};
}

Status hash_read(int fd, const TreeFile& f, std::uint64_t start, std::uint64_t end, crypto::Hasher& h,
                 std::uint8_t* buf, const HashConfig& cfg) {
  std::uint64_t off = start;
  while (off < end) {
    if (cancelled(cfg)) return make_error(ErrorCode::kInternal, "interrupted");
    size_t want = static_cast<size_t>(std::min<std::uint64_t>(kReadChunk, end - off));
    ssize_t n = ::pread(fd, buf, want, static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(ErrorCode::kIo, "cannot read " + f.name + ": " + errno_text(errno), f.name);
    }
    if (n == 0) return changed_error(f);  // shorter than when listed
    h.update(ByteView(buf, static_cast<size_t>(n)));
    off += static_cast<std::uint64_t>(n);
    if (cfg.on_bytes) cfg.on_bytes(static_cast<std::uint64_t>(n));
  }
  return {};
}

// Hashes one range of one file with the worker's buffer.
Result<Bytes> hash_range(const TreeFile& f, std::uint64_t start, std::uint64_t end, crypto::DigestAlg alg,
                         std::uint8_t* buf, const HashConfig& cfg) {
  UniqueFd fd(::open(f.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) return make_error(ErrorCode::kIo, "cannot open " + f.name + ": " + errno_text(errno), f.name);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return make_error(ErrorCode::kIo, "cannot stat " + f.name + ": " + errno_text(errno), f.name);
  if (static_cast<std::uint64_t>(st.st_size) != f.size || mtime_ns(st) != f.mtime_ns || st.st_ino != f.ino ||
      st.st_dev != f.dev) {
    return changed_error(f);
  }
  crypto::Hasher h(alg);
  auto hashed = end - start >= kMapThreshold ? hash_mapped(fd.get(), f, start, end, h, cfg)
                                             : hash_read(fd.get(), f, start, end, h, buf, cfg);
  if (!hashed) return hashed.error();
  if (::fstat(fd.get(), &st) != 0 || static_cast<std::uint64_t>(st.st_size) != f.size || mtime_ns(st) != f.mtime_ns) {
    return changed_error(f);
  }
  return h.finish();
}

unsigned worker_count(const HashConfig& cfg, size_t tasks) {
  unsigned n = cfg.threads != 0 ? cfg.threads : std::max(1u, std::thread::hardware_concurrency());
  return static_cast<unsigned>(std::max<size_t>(1, std::min<size_t>(n, tasks)));
}

}  // namespace

const char* method_name(Method m) { return m == Method::kFiles ? "files" : "shards"; }

std::string resource_algorithm(const HashConfig& cfg) {
  std::string base = crypto::digest_name(cfg.hash);
  if (cfg.method == Method::kFiles) return base;
  return base + "-sharded-" + std::to_string(cfg.shard_size);
}

Bytes root_digest(const std::vector<Resource>& resources) {
  crypto::Hasher h(crypto::DigestAlg::kSha256);
  for (const auto& r : resources) h.update(r.digest);
  return h.finish();
}

Result<ModelDigest> hash_model(const std::vector<TreeFile>& files, const HashConfig& cfg) {
  if (cfg.hash != crypto::DigestAlg::kSha256 && cfg.hash != crypto::DigestAlg::kBlake2b512) {
    return make_error(ErrorCode::kUsage, "model hashing supports sha256 and blake2b only");
  }
  if (cfg.method == Method::kShards && cfg.shard_size == 0) {
    return make_error(ErrorCode::kUsage, "shard size must be positive");
  }
  ModelDigest out;
  std::vector<Task> tasks;
  const std::string algorithm = resource_algorithm(cfg);
  for (size_t i = 0; i < files.size(); ++i) {
    const TreeFile& f = files[i];
    out.total_bytes += f.size;
    auto add = [&](std::string name, std::uint64_t start, std::uint64_t end) {
      if (cfg.known) {
        if (auto it = cfg.known->find(name); it != cfg.known->end()) {
          out.resources.push_back({std::move(name), algorithm, it->second});
          if (cfg.on_bytes) cfg.on_bytes(end - start);
          return;
        }
      }
      tasks.push_back({i, start, end, out.resources.size()});
      out.resources.push_back({std::move(name), algorithm, {}});
    };
    if (cfg.method == Method::kFiles) {
      add(f.name, 0, f.size);
      continue;
    }
    for (std::uint64_t start = 0; start < f.size; start += cfg.shard_size) {
      std::uint64_t end = std::min(f.size, start + cfg.shard_size);
      add(f.name + ":" + std::to_string(start) + ":" + std::to_string(end), start, end);
    }
  }
  if (out.resources.empty()) {
    return make_error(ErrorCode::kInvalidInput, "the model has no file to sign (after ignores; empty files have no shard)");
  }
  // Largest work first keeps the workers busy until the end.
  std::vector<size_t> order(tasks.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return tasks[a].end - tasks[a].start > tasks[b].end - tasks[b].start;
  });

  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex err_mu;
  std::optional<Error> first_error;
  auto worker = [&] {
    // One aligned read buffer per worker; freed when the worker ends.
    std::unique_ptr<std::uint8_t, decltype(&std::free)> buf(
        static_cast<std::uint8_t*>(std::aligned_alloc(4096, kReadChunk)), &std::free);
    if (!buf) {
      failed = true;
      std::lock_guard lock(err_mu);
      if (!first_error) first_error = make_error(ErrorCode::kInternal, "out of memory");
      return;
    }
    for (;;) {
      if (failed.load(std::memory_order_relaxed)) return;
      size_t k = next.fetch_add(1);
      if (k >= order.size()) return;
      const Task& t = tasks[order[k]];
      auto d = hash_range(files[t.file], t.start, t.end, cfg.hash, buf.get(), cfg);
      if (!d) {
        failed = true;
        std::lock_guard lock(err_mu);
        if (!first_error) first_error = d.error();
        return;
      }
      out.resources[t.out].digest = std::move(*d);
    }
  };
  unsigned n = worker_count(cfg, tasks.size());
  if (n == 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    pool.reserve(n);
    for (unsigned i = 0; i < n; ++i) pool.emplace_back(worker);
    for (auto& th : pool) th.join();
  }
  if (first_error) return *first_error;
  out.root = root_digest(out.resources);
  return out;
}

Result<ShardName> parse_shard_name(const std::string& name) {
  auto bad = [&] {
    return make_error(ErrorCode::kMalformed, "shard resource name \"" + name + "\" is not path:start:end", "name");
  };
  size_t c2 = name.rfind(':');
  if (c2 == std::string::npos || c2 == 0) return bad();
  size_t c1 = name.rfind(':', c2 - 1);
  if (c1 == std::string::npos || c1 == 0) return bad();
  ShardName s;
  s.path = name.substr(0, c1);
  auto parse = [](std::string_view t, std::uint64_t& v) {
    if (t.empty() || (t.size() > 1 && t[0] == '0')) return false;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    return ec == std::errc() && p == t.data() + t.size();
  };
  std::string_view sv(name);
  if (!parse(sv.substr(c1 + 1, c2 - c1 - 1), s.start) || !parse(sv.substr(c2 + 1), s.end) || s.end <= s.start) {
    return bad();
  }
  return s;
}

}  // namespace cci::manifest
