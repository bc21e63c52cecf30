#include "base/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "base/unique_fd.h"

namespace cci {

std::string errno_text(int err) { return std::strerror(err); }

Result<Bytes> read_file(const std::string& path, size_t max_bytes) {
  UniqueFd owned;
  int fd = STDIN_FILENO;
  const std::string shown = path == "-" ? std::string("<stdin>") : path;
  if (path != "-") {
    owned.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!owned.valid()) {
      return make_error(ErrorCode::kIo, "cannot open " + shown + ": " + errno_text(errno), shown);
    }
    fd = owned.get();
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
      return make_error(ErrorCode::kIo, "cannot read " + shown + ": is a directory", shown);
    }
  }
  Bytes out;
  std::uint8_t buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(ErrorCode::kIo, "cannot read " + shown + ": " + errno_text(errno), shown);
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      return make_error(ErrorCode::kInvalidInput,
                        shown + " is larger than the limit of " + std::to_string(max_bytes) + " bytes", shown);
    }
    out.insert(out.end(), buf, buf + n);
  }
  return out;
}

Result<Bytes> read_fd(int fd, const std::string& name, size_t max_bytes) {
  Bytes out;
  std::uint8_t buf[65536];
  for (;;) {
    const ssize_t n = ::pread(fd, buf, sizeof buf, static_cast<off_t>(out.size()));
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(ErrorCode::kIo, "cannot read " + name + ": " + errno_text(errno), name);
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      return make_error(ErrorCode::kInvalidInput, name + " is larger than the limit of " + std::to_string(max_bytes) + " bytes", name);
    }
    out.insert(out.end(), buf, buf + n);
  }
  return out;
}

Status write_file_atomic(const std::string& path, ByteView data, mode_t mode) {
  namespace fs = std::filesystem;
  fs::path target(path);
  fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  // Built piecewise: g++ 12 -O3 warns falsely (-Wrestrict) on a chained operator+ here.
  std::string tmpl = dir.string();
  tmpl += "/.";
  tmpl += target.filename().string();
  tmpl += ".tmp-XXXXXX";
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0) {
    return make_error(ErrorCode::kIo, "cannot create a temporary file next to " + path + ": " + errno_text(errno), path);
  }
  UniqueFd owned(fd);
  auto fail = [&](const std::string& what) {
    int err = errno;
    ::unlink(tmpl.c_str());
    return make_error(ErrorCode::kIo, "cannot write " + path + ": " + what + ": " + errno_text(err), path);
  };
  if (::fchmod(fd, mode) != 0) return fail("chmod");
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write");
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("fsync");
  if (::close(owned.release()) != 0) return fail("close");
  if (::rename(tmpl.c_str(), path.c_str()) != 0) return fail("rename");
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.valid()) ::fsync(dfd.get());  // best effort: make the rename durable
  return {};
}

Status pread_all(int fd, std::uint8_t* p, size_t n, std::uint64_t offset, const std::string& label) {
  while (n > 0) {
    const ssize_t r = ::pread(fd, p, n, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return make_error(ErrorCode::kIo, label + ": read failed: " + errno_text(errno), "read");
    if (r == 0) return make_error(ErrorCode::kIo, label + ": file ended early (it changed while being read)", "read");
    p += r;
    n -= static_cast<size_t>(r);
    offset += static_cast<std::uint64_t>(r);
  }
  return {};
}

Status pwrite_all(int fd, ByteView data, std::uint64_t offset) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t r = ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return make_error(ErrorCode::kIo, "write failed: " + errno_text(errno), "write");
    done += static_cast<size_t>(r);
  }
  return {};
}

}  // namespace cci
