#include "attest/tsm.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "base/file_io.h"

namespace cci::attest {
namespace {

namespace fs = std::filesystem;

Error tsm_error(const std::string& what, const std::string& file) {
  return make_error(ErrorCode::kIo, "configfs-tsm: " + what + " (" + file + ")", file);
}

// configfs attributes must be written in one write(2) at offset 0, not appended.
Status write_attr(const std::string& file, ByteView data) {
  std::ofstream f(file, std::ios::binary | std::ios::trunc);
  if (!f) return tsm_error("cannot open for writing: " + std::string(std::strerror(errno)), file);
  f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  f.flush();
  if (!f) return tsm_error("write refused by the provider: " + std::string(std::strerror(errno)), file);
  return {};
}

Result<Bytes> read_attr(const std::string& file, size_t max) {
  auto d = read_file(file, max);
  if (!d) return tsm_error(d.error().message, file);
  return d;
}

Result<unsigned long> read_generation(const std::string& dir) {
  auto d = read_attr(dir + "/generation", 64);
  if (!d) return d.error();
  std::string s(d->begin(), d->end());
  char* end = nullptr;
  unsigned long v = std::strtoul(s.c_str(), &end, 10);
  if (end == s.c_str()) return tsm_error("generation is not a number", dir + "/generation");
  return v;
}

std::string trim(Bytes b) {
  std::string s(b.begin(), b.end());
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
  return s;
}

Result<std::string> make_entry(const TsmOptions& o) {
  std::random_device rd;
  const std::string dir = o.root + "/cci-" + std::to_string(::getpid()) + "-" + std::to_string(rd());
  if (::mkdir(dir.c_str(), 0700) != 0) return tsm_error("cannot create a report entry: " + std::string(std::strerror(errno)), dir);
  return dir;
}

}  // namespace

bool tsm_available(const TsmOptions& o) {
  std::error_code ec;
  return fs::is_directory(o.root, ec);
}

Result<TsmReport> tsm_get_report(ByteView report_data, const TsmOptions& o) {
  if (report_data.size() != 64) {
    return make_error(ErrorCode::kUsage, "REPORT_DATA must be exactly 64 bytes, got " + std::to_string(report_data.size()), "report_data");
  }
  if (!tsm_available(o)) return tsm_error("not available", o.root);
  std::string dir = o.root + "/" + o.entry;
  if (o.entry.empty()) {
    auto d = make_entry(o);
    if (!d) return d.error();
    dir = *d;
  }
  struct Cleanup {
    std::string dir;
    bool remove;
    ~Cleanup() {
      if (remove) ::rmdir(dir.c_str());
    }
  } cleanup{dir, o.entry.empty()};
  std::error_code ec;
  if (fs::exists(dir + "/privlevel", ec)) {
    const std::string lvl = std::to_string(o.privlevel);
    CCI_TRY(write_attr(dir + "/privlevel", ByteView(reinterpret_cast<const std::uint8_t*>(lvl.data()), lvl.size())));
  }
  CCI_TRY(write_attr(dir + "/inblob", report_data));
  for (int attempt = 1; attempt <= o.attempts; ++attempt) {
    auto before = read_generation(dir);
    if (!before) return before.error();
    auto out = read_attr(dir + "/outblob", 1 << 20);
    if (!out) return out.error();
    auto after = read_generation(dir);
    if (!after) return after.error();
    if (*before != *after) continue;  // another writer changed the entry while we read
    TsmReport r;
    r.outblob = std::move(*out);
    r.entry = dir;
    if (fs::exists(dir + "/auxblob", ec)) {
      auto aux = read_attr(dir + "/auxblob", 1 << 20);
      if (!aux) return aux.error();
      r.auxblob = std::move(*aux);
    }
    auto provider = read_attr(dir + "/provider", 256);
    if (!provider) return provider.error();
    r.provider = trim(std::move(*provider));
    if (r.outblob.empty()) return tsm_error("the provider returned an empty report", dir + "/outblob");
    return r;
  }
  return tsm_error("generation changed during every one of " + std::to_string(o.attempts) + " reads: another process is writing this entry",
                   dir + "/generation");
}

}  // namespace cci::attest
