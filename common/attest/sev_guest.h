// SEV-SNP reports through the Linux /dev/sev-guest driver (uapi include/uapi/linux/sev-guest.h;
// Linux include/uapi/linux/sev-guest.h and Documentation/virt/coco/sev-guest.rst). The ABI structures are restated here with static_asserts on every size
// and offset, so a mismatch with the kernel's layout fails the build, not an attestation.
#pragma once

#include <cstddef>
#include <cstdint>

#include "attest/guest_device.h"
#include "base/bytes.h"
#include "base/result.h"

namespace cci::attest {

namespace sev_abi {

struct ReportReq {  // struct snp_report_req (MSG_REPORT_REQ)
  std::uint8_t user_data[64];
  std::uint32_t vmpl;
  std::uint8_t rsvd[28];
};
static_assert(sizeof(ReportReq) == 96 && offsetof(ReportReq, vmpl) == 64 && offsetof(ReportReq, rsvd) == 68);

struct ReportResp {  // struct snp_report_resp: status u32 @0, report_size u32 @4, report @0x20
  std::uint8_t data[4000];
};
static_assert(sizeof(ReportResp) == 4000);
inline constexpr size_t kRespReportOffset = 0x20;

struct ExtReportReq {  // struct snp_ext_report_req
  ReportReq data;
  std::uint64_t certs_address;
  std::uint32_t certs_len;
};
static_assert(sizeof(ExtReportReq) == 112 && offsetof(ExtReportReq, certs_address) == 96 && offsetof(ExtReportReq, certs_len) == 104);

struct GuestRequestIoctl {  // struct snp_guest_request_ioctl
  std::uint8_t msg_version;
  std::uint64_t req_data;
  std::uint64_t resp_data;
  std::uint64_t exitinfo2;  // bits 31:0 firmware error, 63:32 VMM error
};
static_assert(sizeof(GuestRequestIoctl) == 32 && offsetof(GuestRequestIoctl, req_data) == 8 &&
              offsetof(GuestRequestIoctl, resp_data) == 16 && offsetof(GuestRequestIoctl, exitinfo2) == 24);

// _IOWR('S', n, struct snp_guest_request_ioctl)
inline constexpr unsigned long kGetReport = ioctl_iowr('S', 0x0, sizeof(GuestRequestIoctl));
inline constexpr unsigned long kGetExtReport = ioctl_iowr('S', 0x2, sizeof(GuestRequestIoctl));
static_assert(kGetReport == 0xC0205300ul && kGetExtReport == 0xC0205302ul);

inline constexpr std::uint32_t kVmmErrInvalidLen = 1;  // SNP_GUEST_VMM_ERR_INVALID_LEN: certs_len = needed
inline constexpr std::uint32_t kVmmErrBusy = 2;
inline constexpr std::uint32_t kFwErrInvalidCertificate = 6;  // no certificates installed by the host
inline constexpr std::uint32_t kMaxCertsLen = 16 * 4096;      // SEV_FW_BLOB_MAX_SIZE
inline constexpr std::uint8_t kMsgVersion = 1;

}  // namespace sev_abi

struct SevGuestReport {
  Bytes report;      // the attestation report, report_size bytes (1184 for v2..v5)
  Bytes cert_table;  // SNP_GET_EXT_REPORT's certificate table; empty when the host has none
};

// SNP_GET_EXT_REPORT (certificate table sized by a first call with no buffer, as the kernel
// answers VMM_ERR_INVALID_LEN with the size needed), falling back to SNP_GET_REPORT when
// the host has no certificates; with `extended` false, SNP_GET_REPORT only. Checks the ioctl
// result, the firmware and VMM error codes, the response status and the report size.
Result<SevGuestReport> sev_guest_get_report(GuestDevice& dev, ByteView report_data, unsigned vmpl, bool extended = true);

}  // namespace cci::attest
