// Locating the shared vectors (CCI_TEST_VECTORS_DIR, default ../shared/vectors) and
// small helpers for tests. A test that needs the vectors and cannot find them prints
// "skipped: vectors not found" and exits 77, which ctest reports as skipped, not passed.
#pragma once

#include <cstdlib>
#include <ctime>
#include <stdexcept>
#include <filesystem>
#include <iostream>
#include <string>

#include "base/bytes.h"
#include "base/file_io.h"

namespace cci::test {

inline std::filesystem::path vectors_dir() {
  const char* env = std::getenv("CCI_TEST_VECTORS_DIR");
  std::filesystem::path p = env && *env ? std::filesystem::path(env) : std::filesystem::path(CCI_SOURCE_DIR) / "../shared/vectors";
  return p;
}

inline std::filesystem::path require_vectors(const std::string& sub) {
  auto p = vectors_dir() / sub;
  if (!std::filesystem::exists(p)) {
    std::cout << "skipped: vectors not found (" << p.string() << ")" << std::endl;
    std::exit(77);
  }
  return p;
}

inline Bytes slurp(const std::filesystem::path& p) {
  auto r = read_file(p.string(), 1 << 30);
  if (!r) throw std::runtime_error(r.error().message);
  return *r;
}

// "2025-06-01T00:00:00Z" as Unix seconds (a manifest's verification clock); throws on other forms.
inline std::time_t utc_time(const std::string& s) {
  std::tm tm{};
  const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == nullptr || *end != 0) throw std::runtime_error("not an RFC 3339 UTC time: " + s);
  return timegm(&tm);
}

// A temporary directory removed at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "cci-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::string str(const std::string& sub = "") const { return sub.empty() ? path_.string() : (path_ / sub).string(); }

 private:
  std::filesystem::path path_;
};

inline void write_text(const std::filesystem::path& p, const std::string& s) {
  std::filesystem::create_directories(p.parent_path());
  auto st = write_file_atomic(p.string(), as_bytes(s));
  if (!st) throw std::runtime_error(st.error().message);
}

}  // namespace cci::test
