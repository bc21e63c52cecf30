// Where the engine computes: the CPU (the default, Debian's libtorch) or a CUDA GPU (a build
// against a CUDA libtorch, docs/cuda.md). Plain C++, no libtorch: the tools parse --device
// with it, and cci-run's front end (which links no libtorch) refuses what it cannot serve.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace cci::infer {

enum class DeviceKind { kCpu, kCuda };

struct Device {
  DeviceKind kind = DeviceKind::kCpu;
  int index = 0;  // the CUDA device ordinal; 0 for the CPU

  bool is_cuda() const { return kind == DeviceKind::kCuda; }
  std::string text() const;  // "cpu", "cuda:0"
  bool operator==(const Device&) const = default;
};

// "cpu", "cuda" (device 0) or "cuda:N" (0 <= N < 64). Anything else is a usage error naming
// `field`.
Result<Device> parse_device(std::string_view text, const std::string& field = "device");

// The --device help text shared by the tools.
inline constexpr const char* kDeviceHelp =
    "Where the engine computes: cpu, or cuda[:N] in a build against a CUDA libtorch (docs/cuda.md)";

}  // namespace cci::infer
