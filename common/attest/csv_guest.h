// Hygon CSV reports through the /dev/csv-guest driver (drivers/virt/coco/csv-guest in
// Hygon's Linux tree). The request page starts with user_data[64] || mnonce[16] || SM3(user_data ||
// mnonce); V2 (CSV3) adds the magic "ATTESTATION_EXT\0" and flags = 1. The firmware writes the
// report over the page. The mnonce is drawn fresh from the CSPRNG for every request, and the
// answer is checked before anyone sees it: the report's (unmasked) mnonce must be ours and the
// HMAC-SM3 keyed by it must match (a guest-side integrity check of the unsigned PEK and chip
// ID; the remote verifier relies on the signatures instead). The report is passed on raw.
#pragma once

#include <cstddef>
#include <cstdint>

#include "attest/guest_device.h"
#include "base/bytes.h"
#include "base/result.h"
#include "csv/report.h"

namespace cci::attest {

namespace csv_abi {

struct ReportReq {  // struct csv_report_req { u8 *report_data; int len; }
  std::uint8_t* report_data;
  int len;
};
static_assert(sizeof(ReportReq) == 16 && offsetof(ReportReq, len) == 8);

// _IOWR('D', 1, struct csv_report_req)
inline constexpr unsigned long kGetReport = ioctl_iowr('D', 1, sizeof(ReportReq));
static_assert(kGetReport == 0xC0104401ul);

inline constexpr size_t kUserDataOffset = 0, kMnonceOffset = 64, kHashOffset = 80;
inline constexpr size_t kMagicOffset = 112, kFlagsOffset = 128;
inline constexpr char kExtMagic[16] = "ATTESTATION_EXT";  // with its NUL: 16 bytes

}  // namespace csv_abi

// The raw report page (4096 bytes, as the firmware wrote it), already checked for our mnonce
// and its HMAC.
Result<Bytes> csv_guest_get_report(GuestDevice& dev, ByteView report_data, csv::ReportVersion version);

// The request page for `report_data` and `mnonce` (exposed for the tests' fake device).
Result<Bytes> csv_guest_request(ByteView report_data, ByteView mnonce, csv::ReportVersion version);

}  // namespace cci::attest
