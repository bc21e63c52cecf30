// Fuzz target: what a (hostile) /dev/sev-guest or /dev/csv-guest writes back. The input is the
// device's answer: MSG_REPORT_RSP, a requested certificate length and the certificate table
// for sev-guest; the report page for csv-guest. Every answer must end in a report or an error.
#include <cstdint>
#include <cstring>

#include "attest/csv_guest.h"
#include "attest/evidence_source.h"
#include "attest/sev_guest.h"

namespace {

using namespace cci;

class AnswerDevice final : public attest::GuestDevice {
 public:
  explicit AnswerDevice(ByteView in) : in_(in) {}
  int ioctl(unsigned long request, void* arg) override {
    if (request == attest::csv_abi::kGetReport) {
      auto* req = static_cast<attest::csv_abi::ReportReq*>(arg);
      std::memcpy(req->report_data, in_.data(), std::min<size_t>(in_.size(), static_cast<size_t>(req->len)));
      return 0;
    }
    auto* io = static_cast<attest::sev_abi::GuestRequestIoctl*>(arg);
    auto* resp = reinterpret_cast<attest::sev_abi::ReportResp*>(io->resp_data);
    std::memcpy(resp->data, in_.data(), std::min(in_.size(), sizeof resp->data));
    if (request == attest::sev_abi::kGetExtReport) {
      auto* ext = reinterpret_cast<attest::sev_abi::ExtReportReq*>(io->req_data);
      if (ext->certs_len == 0 && in_.size() > 4004) {  // ask for a buffer of the size the input says
        std::memcpy(&ext->certs_len, in_.data() + 4000, 4);
        io->exitinfo2 = std::uint64_t{attest::sev_abi::kVmmErrInvalidLen} << 32;
        return 5;  // EIO
      }
      if (ext->certs_len != 0 && in_.size() > 4004) {
        std::memcpy(reinterpret_cast<void*>(ext->certs_address), in_.data() + 4004, std::min<size_t>(in_.size() - 4004, ext->certs_len));
      }
    }
    return 0;
  }
  const std::string& path() const override { return path_; }

 private:
  ByteView in_;
  std::string path_ = "/dev/fuzz";
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  const ByteView in(data, size);
  AnswerDevice dev(in);
  const Bytes report_data(64, 0x11);
  if (auto r = attest::sev_guest_get_report(dev, report_data, 0)) {
    attest::Evidence e;
    attest::add_snp_cert_table(r->cert_table, e);
  }
  for (auto v : {csv::ReportVersion::kV1, csv::ReportVersion::kV2}) (void)attest::csv_guest_get_report(dev, report_data, v);
  return 0;
}
