// A whole file mapped read-only (MAP_PRIVATE), unmapped on destruction. The file is read
// through the mapping only: callers that hash the bytes and then use them (model weights)
// read the file once. A file that shrinks while mapped raises SIGBUS on access, so mapped
// files should be ones the caller has just verified or that nobody else writes.
#pragma once

#include <memory>
#include <string>

#include "base/bytes.h"
#include "base/result.h"

namespace cci {

class MappedFile {
 public:
  static Result<std::shared_ptr<const MappedFile>> open(const std::string& path);
  // Maps the regular file open on `fd` (the descriptor may be closed afterwards); `name`
  // labels errors. Read once, verify once: callers that hashed the file through a descriptor
  // map that descriptor, never the path again.
  static Result<std::shared_ptr<const MappedFile>> map_fd(int fd, const std::string& name);
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  ByteView bytes() const { return ByteView(static_cast<const std::uint8_t*>(data_), size_); }
  const std::string& path() const { return path_; }

 private:
  MappedFile(void* data, size_t size, std::string path) : data_(data), size_(size), path_(std::move(path)) {}
  void* data_;
  size_t size_;
  std::string path_;
};

}  // namespace cci
