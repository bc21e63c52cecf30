#include "launch/sev_launch_measure.h"

#include "base/byte_reader.h"
#include "crypto/digest.h"
#include "crypto/random.h"

namespace cci::launch {

Result<Bytes> sev_launch_measure(ByteView tik, const PlatformVersion& v, std::uint32_t policy, ByteView gld,
                                 ByteView mnonce) {
  if (tik.size() != kTikSize) return make_error(ErrorCode::kInvalidInput, "the TIK must be 16 bytes", "tik");
  if (gld.size() != 32) return make_error(ErrorCode::kInvalidInput, "the SEV launch digest must be 32 bytes (SHA-256)", "digest");
  if (mnonce.size() != 16) return make_error(ErrorCode::kMalformed, "MNONCE must be 16 bytes", "mnonce");
  Bytes msg{0x04, v.api_major, v.api_minor, v.build};
  append_le(msg, policy, 4);
  msg.insert(msg.end(), gld.begin(), gld.end());
  msg.insert(msg.end(), mnonce.begin(), mnonce.end());
  return crypto::hmac(crypto::DigestAlg::kSha256, tik, msg);
}

Result<LaunchMeasureCheck> check_sev_launch_measure(ByteView blob, ByteView tik, const PlatformVersion& v,
                                                    std::uint32_t policy, ByteView gld) {
  if (blob.size() != kLaunchMeasureBlobSize) {
    return make_error(ErrorCode::kMalformed,
                      "the LAUNCH_MEASURE blob must be 48 bytes (MEASURE 32 ‖ MNONCE 16), got " + std::to_string(blob.size()),
                      "measurement");
  }
  LaunchMeasureCheck out;
  out.reported_measure.assign(blob.begin(), blob.begin() + 32);
  out.mnonce.assign(blob.begin() + 32, blob.end());
  auto expected = sev_launch_measure(tik, v, policy, gld, out.mnonce);
  if (!expected) return expected.error();
  out.expected_measure = std::move(*expected);
  out.match = crypto::ct_equal(out.expected_measure, out.reported_measure);
  return out;
}

}  // namespace cci::launch
