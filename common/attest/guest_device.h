// The one system call the guest drivers (/dev/sev-guest, /dev/csv-guest) need, behind an
// interface so that tests can stand in a device that answers, fails or lies.
#pragma once

#include <memory>
#include <string>

#include "base/result.h"

namespace cci::attest {

// _IOWR(type, nr, size) of <asm-generic/ioctl.h>: direction read|write (3) << 30, size << 16,
// type << 8, nr. The guest drivers' request numbers are built with it (and static_asserted).
constexpr unsigned long ioctl_iowr(unsigned type, unsigned nr, unsigned long size) { return 3ul << 30 | size << 16 | type << 8 | nr; }

class GuestDevice {
 public:
  virtual ~GuestDevice() = default;
  // ioctl(2) on the device: 0 on success, else the errno value (never negative).
  virtual int ioctl(unsigned long request, void* arg) = 0;
  virtual const std::string& path() const = 0;
};

// Opens a character device read-write (O_CLOEXEC). Errors name the path and errno.
Result<std::unique_ptr<GuestDevice>> open_guest_device(const std::string& path);

// Whether `path` exists (as anything: the open reports what is wrong with it).
bool guest_device_present(const std::string& path);

}  // namespace cci::attest
