// Whole-file reads with a size cap and crash-safe atomic writes.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/bytes.h"
#include "base/result.h"

namespace cci {

// Reads `path` ("-" means standard input) completely. Fails with kIo if it cannot be
// read and with kInvalidInput if it is larger than `max_bytes`.
Result<Bytes> read_file(const std::string& path, size_t max_bytes);

// Reads the whole regular file open on `fd` from offset 0 with pread (the descriptor's own
// offset is untouched, so descriptors shared between processes stay usable); `name` labels
// errors. Same size rule as read_file.
Result<Bytes> read_fd(int fd, const std::string& name, size_t max_bytes);

// Writes `data` to `path` so that readers only ever see the old content or the complete
// new content: a temporary file in the same directory is written, fsync'ed, given `mode`,
// then renamed over `path`. On failure the temporary file is removed and `path` is untouched.
Status write_file_atomic(const std::string& path, ByteView data, mode_t mode = 0644);

// Reads exactly `n` bytes at `offset` of `fd` into `p` (pread, retried on short reads and
// EINTR). kIo naming `label`: a read error, or the file ending first ("it changed while being
// read": callers check sizes before they read).
Status pread_all(int fd, std::uint8_t* p, size_t n, std::uint64_t offset, const std::string& label);

// Writes all of `data` at `offset` of `fd` (pwrite, retried on short writes and EINTR).
Status pwrite_all(int fd, ByteView data, std::uint64_t offset);

// strerror(errno) as std::string.
std::string errno_text(int err);

}  // namespace cci
