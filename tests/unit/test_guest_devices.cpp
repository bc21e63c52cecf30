// /dev/sev-guest and /dev/csv-guest against fake devices that play the kernel's side of the
// ioctls (answers built by the simulators, so the evidence is checked by the real verifier),
// devices that fail with error codes or lie, and --tee auto detection on a machine with none.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include "attest/csv_guest.h"
#include "attest/evidence_source.h"
#include "attest/sev_guest.h"
#include "base/byte_reader.h"
#include "cli/inputs.h"
#include "crypto/digest.h"
#include "sim/csv_sim.h"
#include "sim/snp_sim.h"
#include "snp/cert_table.h"
#include "support/vectors.h"
#include "verify/snp_verify.h"
#include "evidence/sim_layout.h"

using namespace cci;
namespace fs = std::filesystem;
using attest::sev_abi::ExtReportReq;
using attest::sev_abi::GuestRequestIoctl;
using attest::sev_abi::ReportReq;
using attest::sev_abi::ReportResp;

namespace {

using Handler = std::function<int(unsigned long request, void* arg)>;

class FakeDevice final : public attest::GuestDevice {
 public:
  explicit FakeDevice(Handler h) : h_(std::move(h)) {}
  int ioctl(unsigned long request, void* arg) override { return h_(request, arg); }
  const std::string& path() const override { return path_; }

 private:
  Handler h_;
  std::string path_ = "/dev/fake-guest";
};

Bytes der_of(const std::string& pem_file) {
  auto c = cli::load_certificates({pem_file});
  REQUIRE(c);
  return (*c)[0].der();
}

// A cert table {VCEK, ASK, ARK} as a host would install it.
Bytes cert_table(const std::string& sim_dir) {
  auto chain = cli::load_certificates({evidence::sim_snp_chain_file(sim_dir)});
  REQUIRE(chain);
  std::vector<std::pair<Guid, Bytes>> entries = {{snp::kCertGuidVcek, der_of(evidence::sim_snp_vcek_file(sim_dir))},
                                                 {snp::kCertGuidAsk, (*chain)[0].der()},
                                                 {snp::kCertGuidArk, (*chain)[1].der()}};
  Bytes t((entries.size() + 1) * 24, 0);
  for (size_t i = 0; i < entries.size(); ++i) {
    std::memcpy(t.data() + i * 24, entries[i].first.data(), 16);
    put_le(t, i * 24 + 16, t.size(), 4);
    put_le(t, i * 24 + 20, entries[i].second.size(), 4);
    t.insert(t.end(), entries[i].second.begin(), entries[i].second.end());
  }
  return t;
}

// The kernel's side of /dev/sev-guest: a simulated platform answers the request it was given.
struct FakeSevGuest {
  test::TempDir tmp;
  Bytes table;
  bool host_has_certs = true;
  std::vector<unsigned long> calls;
  std::uint32_t last_vmpl = 99;
  FakeSevGuest() {
    auto st = sim::init_snp_sim(tmp.str(), sim::default_snp_platform(snp::Product::kMilan));
    REQUIRE_MESSAGE(st, st.error().message);
    table = cert_table(tmp.str());
  }
  void answer(const ReportReq& req, std::uint64_t resp_addr) {
    sim::SnpReportRequest sr;
    sr.report_data.assign(req.user_data, req.user_data + 64);
    sr.vmpl = req.vmpl;
    last_vmpl = req.vmpl;
    auto report = sim::snp_sim_report(tmp.str(), sr);
    REQUIRE(report);
    auto* resp = reinterpret_cast<ReportResp*>(resp_addr);
    Bytes head(0x20, 0);
    put_le(head, 4, report->size(), 4);
    std::memcpy(resp->data, head.data(), head.size());
    std::memcpy(resp->data + 0x20, report->data(), report->size());
  }
  int operator()(unsigned long request, void* arg) {
    calls.push_back(request);
    auto* io = static_cast<GuestRequestIoctl*>(arg);
    REQUIRE(io->msg_version == 1);
    if (request == attest::sev_abi::kGetReport) {
      answer(*reinterpret_cast<ReportReq*>(io->req_data), io->resp_data);
      return 0;
    }
    REQUIRE(request == attest::sev_abi::kGetExtReport);
    auto* ext = reinterpret_cast<ExtReportReq*>(io->req_data);
    if (!host_has_certs) {
      io->exitinfo2 = attest::sev_abi::kFwErrInvalidCertificate;
      return EIO;
    }
    if (ext->certs_len < table.size()) {
      ext->certs_len = static_cast<std::uint32_t>((table.size() + 4095) / 4096 * 4096);
      io->exitinfo2 = std::uint64_t{attest::sev_abi::kVmmErrInvalidLen} << 32;
      return EIO;
    }
    std::memcpy(reinterpret_cast<void*>(ext->certs_address), table.data(), table.size());
    answer(ext->data, io->resp_data);
    return 0;
  }
  std::string ark_file() const { return evidence::sim_snp_ark_file(tmp.str()); }
};

Bytes report_data_of(std::uint8_t v) { return Bytes(64, v); }

// The evidence's report, checked by the real verifier against the simulated root.
void check_verifies(const evidence::EvidenceFile& e, const std::string& ark_file, ByteView report_data) {
  REQUIRE(e.vek_pem);
  REQUIRE(e.cert_chain_pem);
  verify::SnpEvidence ev;
  ev.input.report = e.report;
  auto text = [](const std::string& s) { return ByteView(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()); };
  auto vek = crypto::Certificate::from_pem(text(*e.vek_pem));
  REQUIRE(vek);
  ev.vek = std::move(*vek);
  auto chain = crypto::parse_pem_bundle(text(*e.cert_chain_pem));
  REQUIRE(chain);
  ev.ca = std::move(*chain);
  ev.at = std::time(nullptr);
  ev.crl_required = false;
  auto ark = cli::load_certificates({ark_file});
  REQUIRE(ark);
  ev.simulated_roots.push_back((*ark)[0].fingerprint_sha256());
  auto v = verify::verify_snp(ev);
  CHECK(v.passed);
  REQUIRE(v.report);
  CHECK(v.report->report_data == Bytes(report_data.begin(), report_data.end()));
}

}  // namespace

TEST_CASE("sev-guest ABI: the restated kernel structures and ioctl numbers") {
  // Also asserted at compile time (against <linux/sev-guest.h> where installed).
  CHECK(sizeof(ReportReq) == 96);
  CHECK(sizeof(ExtReportReq) == 112);
  CHECK(sizeof(GuestRequestIoctl) == 32);
  CHECK(attest::sev_abi::kGetExtReport == 0xC0205302ul);
  CHECK(attest::csv_abi::kGetReport == 0xC0104401ul);
}

TEST_CASE("sev-guest: extended report sized by a probe, certificates carried, verified by the real verifier") {
  FakeSevGuest fake;
  FakeDevice dev(std::ref(fake));
  auto r = attest::sev_guest_get_report(dev, report_data_of(0x5A), 2);
  REQUIRE_MESSAGE(r, r.error().message);
  CHECK(fake.calls.size() == 2);  // the probe without a buffer, then the call with the pages asked for
  CHECK(fake.last_vmpl == 2);
  CHECK(r->report.size() == 1184);
  CHECK(r->cert_table.size() == (fake.table.size() + 4095) / 4096 * 4096);

  attest::Evidence e;
  attest::add_snp_cert_table(r->cert_table, e);
  e.file.report = r->report;
  CHECK(e.warnings.empty());
  check_verifies(e.file, fake.ark_file(), report_data_of(0x5A));
}

TEST_CASE("sev-guest: a host without certificates falls back to SNP_GET_REPORT") {
  FakeSevGuest fake;
  fake.host_has_certs = false;
  FakeDevice dev(std::ref(fake));
  auto r = attest::sev_guest_get_report(dev, report_data_of(1), 0);
  REQUIRE_MESSAGE(r, r.error().message);
  REQUIRE(fake.calls.size() == 2);
  CHECK(fake.calls[1] == attest::sev_abi::kGetReport);
  CHECK(r->cert_table.empty());
}

TEST_CASE("sev-guest: device errors, bad answers and bad requests are errors naming what failed") {
  FakeSevGuest fake;
  SUBCASE("the ioctl fails with a firmware error code") {
    FakeDevice dev([](unsigned long, void* arg) {
      static_cast<GuestRequestIoctl*>(arg)->exitinfo2 = 0x16;  // INVALID_PARAM
      return EIO;
    });
    auto r = attest::sev_guest_get_report(dev, report_data_of(1), 0);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("SNP_GET_EXT_REPORT on /dev/fake-guest failed") != std::string::npos);
    CHECK(r.error().message.find("firmware error 22") != std::string::npos);
    auto plain = attest::sev_guest_get_report(dev, report_data_of(1), 0, false);
    REQUIRE_FALSE(plain);
    CHECK(plain.error().message.find("SNP_GET_REPORT") != std::string::npos);
  }
  SUBCASE("the VMM is busy") {
    FakeDevice dev([](unsigned long, void* arg) {
      static_cast<GuestRequestIoctl*>(arg)->exitinfo2 = std::uint64_t{attest::sev_abi::kVmmErrBusy} << 32;
      return EAGAIN;
    });
    auto r = attest::sev_guest_get_report(dev, report_data_of(1), 0);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("VMM error 2") != std::string::npos);
  }
  SUBCASE("MSG_REPORT_RSP with a failure status, or a report size out of range") {
    for (std::uint32_t bad : {0u, 1u}) {
      FakeDevice dev([&](unsigned long req, void* arg) {
        int rc = fake(req, arg);
        auto* resp = reinterpret_cast<ReportResp*>(static_cast<GuestRequestIoctl*>(arg)->resp_data);
        if (rc == 0 && bad == 0) resp->data[0] = 0x16;            // status INVALID_PARAM
        if (rc == 0 && bad == 1) std::memset(resp->data + 4, 0xFF, 4);  // report_size 4 GiB
        return rc;
      });
      auto r = attest::sev_guest_get_report(dev, report_data_of(1), 0);
      REQUIRE_FALSE(r);
      CHECK(r.error().field == (bad == 0 ? "status" : "report_size"));
    }
  }
  SUBCASE("the host asks for a certificate buffer that is not whole pages") {
    FakeDevice dev([](unsigned long, void* arg) {
      auto* io = static_cast<GuestRequestIoctl*>(arg);
      reinterpret_cast<ExtReportReq*>(io->req_data)->certs_len = 5000;
      io->exitinfo2 = std::uint64_t{attest::sev_abi::kVmmErrInvalidLen} << 32;
      return EIO;
    });
    auto r = attest::sev_guest_get_report(dev, report_data_of(1), 0);
    REQUIRE_FALSE(r);
    CHECK(r.error().field == "certs_len");
  }
  SUBCASE("REPORT_DATA of 63 or 65 bytes, VMPL 4") {
    FakeDevice dev(std::ref(fake));
    CHECK(attest::sev_guest_get_report(dev, Bytes(63, 0), 0).error().field == "report_data");
    CHECK(attest::sev_guest_get_report(dev, Bytes(65, 0), 0).error().field == "report_data");
    CHECK(attest::sev_guest_get_report(dev, Bytes(64, 0), 4).error().field == "vmpl");
    CHECK(fake.calls.empty());
  }
}

namespace {

// The kernel and firmware side of /dev/csv-guest: checks the request page (hash, magic) and
// writes a simulated report with the request's mnonce over it.
struct FakeCsvGuest {
  test::TempDir tmp;
  std::function<void(Bytes&)> tamper = [](Bytes&) {};
  bool saw_ext_magic = false;
  FakeCsvGuest() {
    auto st = sim::init_csv_sim(tmp.str(), sim::CsvPlatform{});
    REQUIRE_MESSAGE(st, st.error().message);
  }
  int operator()(unsigned long request, void* arg) {
    REQUIRE(request == attest::csv_abi::kGetReport);
    auto* req = static_cast<attest::csv_abi::ReportReq*>(arg);
    REQUIRE(req->len == 4096);
    Bytes page(req->report_data, req->report_data + req->len);
    CHECK(crypto::digest(crypto::DigestAlg::kSm3, ByteView(page).first(80)) == Bytes(page.begin() + 80, page.begin() + 112));
    saw_ext_magic = std::memcmp(page.data() + 112, "ATTESTATION_EXT", 16) == 0 && page[128] == 1;
    sim::CsvReportRequest sr;
    sr.report_data.assign(page.begin(), page.begin() + 64);
    sr.mnonce.assign(page.begin() + 64, page.begin() + 80);
    sr.version = saw_ext_magic ? csv::ReportVersion::kV2 : csv::ReportVersion::kV1;
    auto report = sim::csv_sim_report(tmp.str(), sr);
    REQUIRE(report);
    tamper(*report);
    std::memcpy(req->report_data, report->data(), report->size());
    return 0;
  }
};

}  // namespace

TEST_CASE("csv-guest: request page, fresh mnonce checked, HMAC checked, raw page passed on") {
  FakeCsvGuest fake;
  FakeDevice dev(std::ref(fake));
  for (auto v : {csv::ReportVersion::kV1, csv::ReportVersion::kV2}) {
    auto page = attest::csv_guest_get_report(dev, report_data_of(0x33), v);
    REQUIRE_MESSAGE(page, page.error().message);
    CHECK(fake.saw_ext_magic == (v == csv::ReportVersion::kV2));
    auto rep = csv::parse_report(*page);
    REQUIRE(rep);
    CHECK(rep->version == v);
    CHECK(Bytes(rep->report_data.begin(), rep->report_data.end()) == report_data_of(0x33));
    if (v == csv::ReportVersion::kV1) CHECK(rep->pek_encoding == csv::PekEncoding::kMasked);  // raw, not restored
  }
}

TEST_CASE("csv-guest: a stale report, a changed chip ID, garbage and errno are refused") {
  FakeCsvGuest fake;
  FakeDevice dev(std::ref(fake));
  SUBCASE("another request's mnonce (a replayed report)") {
    fake.tamper = [](Bytes& r) { r[0x80] ^= 1; };
    auto p = attest::csv_guest_get_report(dev, report_data_of(1), csv::ReportVersion::kV1);
    REQUIRE_FALSE(p);
    CHECK(p.error().field == "mnonce");
  }
  SUBCASE("the unsigned chip ID changed: only the HMAC sees it") {
    fake.tamper = [](Bytes& r) { r[0x150 + 2084] ^= 1; };
    auto p = attest::csv_guest_get_report(dev, report_data_of(1), csv::ReportVersion::kV1);
    REQUIRE_FALSE(p);
    CHECK(p.error().field == "mac");
  }
  SUBCASE("the device leaves the request page as it was") {
    FakeDevice echo([](unsigned long, void*) { return 0; });
    auto p = attest::csv_guest_get_report(echo, report_data_of(1), csv::ReportVersion::kV1);
    REQUIRE_FALSE(p);
    CHECK(p.error().field == "report");
  }
  SUBCASE("the device returns an error code") {
    FakeDevice failing([](unsigned long, void*) { return EINVAL; });
    auto p = attest::csv_guest_get_report(failing, report_data_of(1), csv::ReportVersion::kV1);
    REQUIRE_FALSE(p);
    CHECK(p.error().message.find("CSV_CMD_GET_REPORT on /dev/fake-guest failed: Invalid argument") != std::string::npos);
  }
  SUBCASE("REPORT_DATA of the wrong size") {
    CHECK(attest::csv_guest_get_report(dev, Bytes(32, 0), csv::ReportVersion::kV1).error().field == "report_data");
  }
}

TEST_CASE("evidence sources: auto detection order, a clear list of what was tried, simulators only by name") {
  test::TempDir tmp;
  attest::SourceOptions o;
  o.tsm_root = (tmp.path() / "tsm").string();
  o.sev_guest = (tmp.path() / "sev-guest").string();
  o.csv_guest = (tmp.path() / "csv-guest").string();
  o.tdx_guest = (tmp.path() / "tdx_guest").string();
  SUBCASE("nothing present") {
    auto s = attest::select_evidence_source(o);
    REQUIRE_FALSE(s);
    const std::string& m = s.error().message;
    CHECK(m.find("configfs-tsm (" + o.tsm_root + ": absent)") != std::string::npos);
    CHECK(m.find(o.sev_guest + " (absent)") != std::string::npos);
    CHECK(m.find(o.csv_guest + " (absent)") != std::string::npos);
    CHECK(m.find("--tee sim-snp|sim-csv") != std::string::npos);
    o.tee = "csv";
    auto c = attest::select_evidence_source(o);
    REQUIRE_FALSE(c);
    CHECK(c.error().message.find("sev-guest") == std::string::npos);
  }
  SUBCASE("a TDX guest: configfs-tsm serves TDX quotes; without it the error says what is missing") {
    std::ofstream(o.tdx_guest).put('x');
    auto none = attest::select_evidence_source(o);
    REQUIRE_FALSE(none);
    CHECK(none.error().message.find("configfs-tsm for TDX (" + o.tsm_root + ": absent; " + o.tdx_guest + " is there") != std::string::npos);
    CHECK(none.error().message.find(o.sev_guest) == std::string::npos);  // a TDX guest is not an SEV-SNP one
    fs::create_directories(o.tsm_root);
    auto s = attest::select_evidence_source(o);
    REQUIRE(s);
    CHECK((*s)->tee() == "tdx");
    o.tee = "snp";  // named: configfs-tsm for SEV-SNP, whatever else is there
    CHECK((*attest::select_evidence_source(o))->tee() == "snp");
    o.tee = "sim-tdx";
    CHECK(attest::select_evidence_source(o).error().field == "sim-dir");
  }
  SUBCASE("configfs-tsm first, then sev-guest, then csv-guest") {
    std::ofstream(o.csv_guest).put('x');
    CHECK((*attest::select_evidence_source(o))->describe() == o.csv_guest);
    std::ofstream(o.sev_guest).put('x');
    CHECK((*attest::select_evidence_source(o))->describe() == o.sev_guest);
    fs::create_directories(o.tsm_root);
    CHECK((*attest::select_evidence_source(o))->describe() == "configfs-tsm (" + o.tsm_root + ")");
    o.tee = "csv";
    CHECK((*attest::select_evidence_source(o))->describe() == o.csv_guest);
  }
  SUBCASE("the chosen device is opened through the opener and its errors come back") {
    std::ofstream(o.sev_guest).put('x');
    FakeSevGuest fake;
    o.open_device = [&](const std::string&) -> Result<std::unique_ptr<attest::GuestDevice>> {
      return std::unique_ptr<attest::GuestDevice>(new FakeDevice(std::ref(fake)));
    };
    auto s = attest::select_evidence_source(o);
    REQUIRE(s);
    auto e = (*s)->get_evidence(report_data_of(7));
    REQUIRE_MESSAGE(e, e.error().message);
    CHECK(e->file.tee == "snp");
    CHECK(e->file.vek_pem);
    check_verifies(e->file, fake.ark_file(), report_data_of(7));
    CHECK_FALSE((*s)->get_evidence(Bytes(65, 0)));
  }
  SUBCASE("a file that is no device: the kernel's ioctl error is reported") {
    std::ofstream(o.sev_guest).put('x');
    auto e = (*attest::select_evidence_source(o))->get_evidence(report_data_of(7));
    REQUIRE_FALSE(e);
    CHECK(e.error().message.find("SNP_GET_EXT_REPORT on " + o.sev_guest + " failed") != std::string::npos);
  }
  SUBCASE("simulators need their directory and are never chosen by auto") {
    o.tee = "sim-snp";
    CHECK(attest::select_evidence_source(o).error().field == "sim-dir");
    o.tee = "tdx";
    CHECK(attest::select_evidence_source(o).error().field == "tee");
  }
}

TEST_CASE("TDX evidence takes the CC event log along when there is one, and says so when there is none") {
  test::TempDir tmp;
  const std::string log = (tmp.path() / "CCEL").string();
  attest::Evidence e;
  attest::attach_ccel(log, e);
  CHECK_FALSE(e.file.event_log);
  REQUIRE(e.warnings.size() == 1);
  CHECK(e.warnings[0].find("no CC event log at " + log) != std::string::npos);
  std::ofstream(log, std::ios::binary) << std::string("\x01\x02\x03", 3);
  attest::Evidence f;
  attest::attach_ccel(log, f);
  CHECK(f.warnings.empty());
  CHECK(f.file.event_log == Bytes{1, 2, 3});
}
