#include "attest/csv_guest.h"

#include <cstring>

#include "crypto/digest.h"
#include "crypto/random.h"

namespace cci::attest {
namespace {

using namespace csv_abi;

Error csv_error(const std::string& what, const char* field) { return make_error(ErrorCode::kIo, "/dev/csv-guest: " + what, field); }

// V1 fields carry the anonce mask; the HMAC covers the signer block as the firmware returned it.
Status check_answer(const csv::Report& r, ByteView mnonce) {
  if (!crypto::ct_equal(ByteView(r.mnonce.data(), r.mnonce.size()), mnonce)) {
    return csv_error("the report's mnonce is not the one this request sent (a stale or substituted report)", "mnonce");
  }
  if (r.version != csv::ReportVersion::kV1) return {};
  auto mac = crypto::hmac(crypto::DigestAlg::kSm3, mnonce, r.hmac_input());
  if (!mac) return mac.error();
  if (!crypto::ct_equal(*mac, ByteView(r.mac.data(), r.mac.size()))) {
    return csv_error("the report's HMAC does not match (PEK or chip ID changed in transit)", "mac");
  }
  return {};
}

}  // namespace

Result<Bytes> csv_guest_request(ByteView report_data, ByteView mnonce, csv::ReportVersion version) {
  if (report_data.size() != 64) {
    return make_error(ErrorCode::kUsage, "REPORT_DATA must be exactly 64 bytes, got " + std::to_string(report_data.size()), "report_data");
  }
  if (mnonce.size() != 16) return make_error(ErrorCode::kUsage, "mnonce must be 16 bytes", "mnonce");
  Bytes page(csv::kReportPageSize, 0);
  std::memcpy(page.data() + kUserDataOffset, report_data.data(), 64);
  std::memcpy(page.data() + kMnonceOffset, mnonce.data(), 16);
  const Bytes hash = crypto::digest(crypto::DigestAlg::kSm3, ByteView(page).first(80));
  std::memcpy(page.data() + kHashOffset, hash.data(), 32);
  if (version == csv::ReportVersion::kV2) {
    std::memcpy(page.data() + kMagicOffset, kExtMagic, sizeof kExtMagic);
    page[kFlagsOffset] = 1;  // REPORT_EXT
  }
  return page;
}

Result<Bytes> csv_guest_get_report(GuestDevice& dev, ByteView report_data, csv::ReportVersion version) {
  auto mnonce_bytes = crypto::random_bytes(16);
  if (!mnonce_bytes) return mnonce_bytes.error();
  const crypto::SecretBytes mnonce(std::move(*mnonce_bytes));  // the HMAC key
  auto page = csv_guest_request(report_data, mnonce.view(), version);
  if (!page) return page.error();
  ReportReq req{page->data(), static_cast<int>(page->size())};
  if (int err = dev.ioctl(kGetReport, &req); err != 0) {
    return csv_error("CSV_CMD_GET_REPORT on " + dev.path() + " failed: " + std::strerror(err), "ioctl");
  }
  auto report = csv::parse_report(*page, version);
  if (!report) return csv_error("the device answered with something that is not a report: " + report.error().message, "report");
  CCI_TRY(check_answer(*report, mnonce.view()));
  return page;
}

}  // namespace cci::attest
