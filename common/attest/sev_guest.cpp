#include "attest/sev_guest.h"

#include <cstring>
#include <linux/ioctl.h>
#include <linux/types.h>

#if __has_include(<linux/sev-guest.h>)
#include <linux/sev-guest.h>
// The restated layouts must equal the kernel's own where its header is installed.
static_assert(sizeof(cci::attest::sev_abi::ReportReq) == sizeof(struct snp_report_req));
static_assert(sizeof(cci::attest::sev_abi::ReportResp) == sizeof(struct snp_report_resp));
static_assert(sizeof(cci::attest::sev_abi::GuestRequestIoctl) == sizeof(struct snp_guest_request_ioctl));
static_assert(sizeof(cci::attest::sev_abi::ExtReportReq) == sizeof(struct snp_ext_report_req));
static_assert(cci::attest::sev_abi::kGetReport == SNP_GET_REPORT && cci::attest::sev_abi::kGetExtReport == SNP_GET_EXT_REPORT);
#endif

#include "base/byte_reader.h"

namespace cci::attest {
namespace {

using namespace sev_abi;

constexpr size_t kMinReportSize = 1184;

std::uint32_t fw_error(const GuestRequestIoctl& io) { return static_cast<std::uint32_t>(io.exitinfo2); }
std::uint32_t vmm_error(const GuestRequestIoctl& io) { return static_cast<std::uint32_t>(io.exitinfo2 >> 32); }

Error device_error(const GuestDevice& dev, const char* call, int err, const GuestRequestIoctl& io) {
  return make_error(ErrorCode::kIo,
                    std::string(call) + " on " + dev.path() + " failed: " + std::strerror(err) + " (firmware error " +
                        std::to_string(fw_error(io)) + ", VMM error " + std::to_string(vmm_error(io)) + ")",
                    "sev-guest");
}

ReportReq make_request(ByteView report_data, unsigned vmpl) {
  ReportReq req{};
  std::memcpy(req.user_data, report_data.data(), 64);
  req.vmpl = vmpl;
  return req;
}

// MSG_REPORT_RSP: status 0 and a report size that fits the response.
Result<Bytes> report_from_response(const ReportResp& resp) {
  const ByteReader rd(ByteView(resp.data, sizeof resp.data), "MSG_REPORT_RSP");
  const std::uint32_t status = *rd.le32(0, "status");
  const std::uint32_t size = *rd.le32(4, "report_size");
  if (status != 0) return make_error(ErrorCode::kIo, "the firmware answered MSG_REPORT_RSP status " + std::to_string(status), "status");
  if (size < kMinReportSize || size > sizeof resp.data - kRespReportOffset) {
    return make_error(ErrorCode::kMalformed, "the firmware's report_size " + std::to_string(size) + " is out of range", "report_size");
  }
  return Bytes(resp.data + kRespReportOffset, resp.data + kRespReportOffset + size);
}

Result<Bytes> get_report(GuestDevice& dev, const ReportReq& req) {
  ReportReq in = req;
  ReportResp resp{};
  GuestRequestIoctl io{};
  io.msg_version = kMsgVersion;
  io.req_data = reinterpret_cast<std::uintptr_t>(&in);
  io.resp_data = reinterpret_cast<std::uintptr_t>(&resp);
  if (int err = dev.ioctl(kGetReport, &io); err != 0) return device_error(dev, "SNP_GET_REPORT", err, io);
  return report_from_response(resp);
}

// One SNP_GET_EXT_REPORT with a certificate buffer of `certs.size()` bytes (0: none).
int ext_report_call(GuestDevice& dev, ExtReportReq& req, Bytes& certs, ReportResp& resp, GuestRequestIoctl& io) {
  req.certs_address = certs.empty() ? 0 : reinterpret_cast<std::uintptr_t>(certs.data());
  req.certs_len = static_cast<std::uint32_t>(certs.size());
  io = GuestRequestIoctl{};
  io.msg_version = kMsgVersion;
  io.req_data = reinterpret_cast<std::uintptr_t>(&req);
  io.resp_data = reinterpret_cast<std::uintptr_t>(&resp);
  return dev.ioctl(kGetExtReport, &io);
}

}  // namespace

Result<SevGuestReport> sev_guest_get_report(GuestDevice& dev, ByteView report_data, unsigned vmpl, bool extended) {
  if (report_data.size() != 64) {
    return make_error(ErrorCode::kUsage, "REPORT_DATA must be exactly 64 bytes, got " + std::to_string(report_data.size()), "report_data");
  }
  if (vmpl > 3) return make_error(ErrorCode::kUsage, "VMPL must be 0 to 3, got " + std::to_string(vmpl), "vmpl");
  const ReportReq base = make_request(report_data, vmpl);
  SevGuestReport out;
  if (!extended) {
    auto r = get_report(dev, base);
    if (!r) return r.error();
    out.report = std::move(*r);
    return out;
  }
  ExtReportReq req{};
  req.data = base;
  Bytes certs;
  ReportResp resp{};
  GuestRequestIoctl io{};
  // At most two calls: without a buffer, then with the size the host asked for.
  for (int call = 0; call < 2; ++call) {
    const int err = ext_report_call(dev, req, certs, resp, io);
    if (err == 0) {
      auto r = report_from_response(resp);
      if (!r) return r.error();
      out.report = std::move(*r);
      out.cert_table = std::move(certs);
      return out;
    }
    if (vmm_error(io) == kVmmErrInvalidLen && certs.empty()) {
      if (req.certs_len == 0 || req.certs_len > kMaxCertsLen || req.certs_len % 4096 != 0) {
        return make_error(ErrorCode::kMalformed, "the host asked for a certificate buffer of " + std::to_string(req.certs_len) +
                                                     " bytes (must be whole pages, at most " + std::to_string(kMaxCertsLen) + ")",
                          "certs_len");
      }
      certs.assign(req.certs_len, 0);
      resp = ReportResp{};
      continue;
    }
    if (fw_error(io) == kFwErrInvalidCertificate) break;  // the host installed no certificates: plain report
    return device_error(dev, "SNP_GET_EXT_REPORT", err, io);
  }
  auto r = get_report(dev, base);
  if (!r) return r.error();
  out.report = std::move(*r);
  return out;
}

}  // namespace cci::attest
