#include "attest/guest_device.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/unique_fd.h"

namespace cci::attest {
namespace {

class KernelDevice final : public GuestDevice {
 public:
  KernelDevice(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  int ioctl(unsigned long request, void* arg) override {
    int rc;
    do {
      rc = ::ioctl(fd_.get(), request, arg);
    } while (rc < 0 && errno == EINTR);
    return rc < 0 ? errno : 0;
  }
  const std::string& path() const override { return path_; }

 private:
  UniqueFd fd_;
  std::string path_;
};

}  // namespace

Result<std::unique_ptr<GuestDevice>> open_guest_device(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid()) {
    const int e = errno;
    std::string hint = e == EACCES ? " (the device needs root or the right group)" : "";
    return make_error(ErrorCode::kIo, "cannot open " + path + ": " + std::strerror(e) + hint, path);
  }
  return std::unique_ptr<GuestDevice>(new KernelDevice(std::move(fd), path));
}

bool guest_device_present(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace cci::attest
