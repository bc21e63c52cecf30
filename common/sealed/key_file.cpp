#include "sealed/key_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file_io.h"
#include "base/unique_fd.h"
#include "crypto/aead.h"

namespace cci::sealed {

Result<crypto::SecretBytes> read_key_file(const std::string& path, const std::string& flag, const std::function<void(const std::string&)>& warn) {
  UniqueFd fd(path == "-" ? ::dup(STDIN_FILENO) : ::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return make_error(ErrorCode::kIo, "cannot open the key file " + path + ": " + errno_text(errno), flag);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return make_error(ErrorCode::kIo, "cannot stat the key file " + path, flag);
  if (S_ISREG(st.st_mode)) {  // a pipe (-, /dev/fd/N) has no owner's mode to check
    if ((st.st_mode & 077) != 0) {
      warn(path + " (the model key) can be read by other users (mode " + std::to_string((st.st_mode >> 6) & 7) + std::to_string((st.st_mode >> 3) & 7) +
           std::to_string(st.st_mode & 7) + "): chmod 600 " + path);
    }
  }
  // read(), not pread(): the key may come through a pipe. More than 64 bytes is no key anyway.
  Bytes bytes(65);
  size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::read(fd.get(), bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      crypto::secure_clear(bytes.data(), bytes.size());
      return make_error(ErrorCode::kIo, "cannot read the key file " + path + ": " + errno_text(errno), flag);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  bytes.resize(got);
  crypto::SecretBytes key(std::move(bytes));
  if (key.size() != crypto::kAeadKeyBytes) {
    return make_error(ErrorCode::kInvalidInput,
                      path + " is " + std::to_string(key.size()) + " bytes: a model key is 32 raw bytes (cci-measure encrypt writes one)", flag);
  }
  return key;
}

}  // namespace cci::sealed
