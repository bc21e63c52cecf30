// The SEV / SEV-ES LAUNCH_MEASURE blob: what the firmware returns to the guest owner before
// the guest runs (AMD SEV API 55766 §6.5; virtee/sev Session::verify):
//   blob    = MEASURE(32) ‖ MNONCE(16)
//   MEASURE = HMAC-SHA-256(TIK, 0x04 ‖ API_MAJOR ‖ API_MINOR ‖ BUILD ‖ le32 POLICY ‖ GLD ‖ MNONCE)
// where GLD is the guest launch digest (cci-measure image --mode sev|seves) and TIK the
// guest owner's transport integrity key from the launch session.
#pragma once

#include <cstdint>

#include "base/bytes.h"
#include "base/result.h"

namespace cci::launch {

inline constexpr size_t kLaunchMeasureBlobSize = 48;
inline constexpr size_t kTikSize = 16;

struct PlatformVersion {
  std::uint8_t api_major = 0;
  std::uint8_t api_minor = 0;
  std::uint8_t build = 0;
};

// The MEASURE value the firmware computes for these inputs.
Result<Bytes> sev_launch_measure(ByteView tik, const PlatformVersion& v, std::uint32_t policy, ByteView gld,
                                 ByteView mnonce);

struct LaunchMeasureCheck {
  bool match = false;
  Bytes expected_measure;
  Bytes reported_measure;
  Bytes mnonce;
};

// Splits `blob` and compares its MEASURE, in constant time, with the value expected for `gld`.
// Errors only for malformed input (blob not 48 bytes, TIK not 16 bytes, GLD not 32 bytes).
Result<LaunchMeasureCheck> check_sev_launch_measure(ByteView blob, ByteView tik, const PlatformVersion& v,
                                                    std::uint32_t policy, ByteView gld);

}  // namespace cci::launch
