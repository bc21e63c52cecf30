#include "base/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "base/huge_pages.h"
#include "base/unique_fd.h"

namespace cci {

Result<std::shared_ptr<const MappedFile>> MappedFile::open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return make_error(ErrorCode::kIo, "cannot open " + path + ": " + std::strerror(errno), path);
  return map_fd(fd.get(), path);
}

Result<std::shared_ptr<const MappedFile>> MappedFile::map_fd(int fd, const std::string& name) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return make_error(ErrorCode::kIo, "cannot stat " + name + ": " + std::strerror(errno), name);
  if (!S_ISREG(st.st_mode)) return make_error(ErrorCode::kIo, name + " is not a regular file", name);
  const size_t size = static_cast<size_t>(st.st_size);
  void* data = nullptr;  // an empty file maps to nothing
  if (size > 0) {
    data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (data == MAP_FAILED) return make_error(ErrorCode::kIo, "cannot map " + name + ": " + std::strerror(errno), name);
    // Model weights are read front to back once per decoded token: where the kernel can back
    // the file with 2 MiB pages (file systems with large folios, read-only THP for files), let it.
    advise_huge_pages(data, size);
  }
  return std::shared_ptr<const MappedFile>(new MappedFile(data, size, name));
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

}  // namespace cci
