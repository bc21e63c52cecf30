// configfs-tsm against a fake tree in a temporary directory (the provider's side is played by
// the test: attribute files, and a FIFO outblob whose writer bumps `generation` to race us),
// and the evidence file format.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "evidence/evidence_file.h"
#include "attest/tsm.h"

using namespace cci;
namespace fs = std::filesystem;

namespace {

struct FakeTsm {
  fs::path root = fs::temp_directory_path() / ("cci-tsm-" + std::to_string(::getpid()));
  fs::path entry = root / "e";
  FakeTsm() {
    fs::remove_all(root);
    fs::create_directories(entry);
    put("generation", "1\n");
    put("provider", "sev_guest\n");
    put("privlevel", "");
    put("auxblob", "AUX");
  }
  ~FakeTsm() { fs::remove_all(root); }
  void put(const std::string& name, const std::string& text) const { std::ofstream(entry / name, std::ios::trunc) << text; }
  std::string get(const std::string& name) const {
    std::ifstream f(entry / name);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
  attest::TsmOptions options() const {
    attest::TsmOptions o;
    o.root = root.string();
    o.entry = "e";
    o.privlevel = 2;
    return o;
  }
  // outblob as a FIFO served `reads` times; the first `races` openings bump generation first.
  std::thread serve_fifo(int reads, int races) const {
    const std::string fifo = (entry / "outblob").string();
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    return std::thread([this, fifo, reads, races] {
      for (int i = 0; i < reads; ++i) {
        int fd = ::open(fifo.c_str(), O_WRONLY);
        if (fd < 0) return;
        if (i < races) put("generation", std::to_string(2 + i) + "\n");
        const char report[] = "REPORT";
        (void)!::write(fd, report, sizeof report - 1);
        // Put a fresh FIFO in place before EOF reaches the reader, so its next open cannot
        // meet this round's pipe (which would lose the rendezvous).
        const std::string next = fifo + ".next";
        if (i + 1 < reads && (::mkfifo(next.c_str(), 0600) != 0 || ::rename(next.c_str(), fifo.c_str()) != 0)) {
          ::close(fd);
          return;
        }
        ::close(fd);
      }
    });
  }
};

}  // namespace

TEST_CASE("configfs-tsm: writes privlevel and inblob, reads outblob, auxblob and provider") {
  FakeTsm t;
  t.put("outblob", "REPORT");
  Bytes rd(64, 0xAB);
  auto r = attest::tsm_get_report(rd, t.options());
  REQUIRE_MESSAGE(r, r.error().message);
  CHECK(std::string(r->outblob.begin(), r->outblob.end()) == "REPORT");
  CHECK(std::string(r->auxblob.begin(), r->auxblob.end()) == "AUX");
  CHECK(r->provider == "sev_guest");
  CHECK(t.get("inblob") == std::string(64, '\xAB'));
  CHECK(t.get("privlevel") == "2");
  CHECK(fs::exists(t.entry));  // a given entry is not removed
}

TEST_CASE("configfs-tsm: a generation change while reading is retried, then an error") {
  SUBCASE("one race, then a clean read") {
    FakeTsm t;
    auto server = t.serve_fifo(2, 1);
    auto r = attest::tsm_get_report(Bytes(64, 1), t.options());
    server.join();
    REQUIRE_MESSAGE(r, r.error().message);
    CHECK(std::string(r->outblob.begin(), r->outblob.end()) == "REPORT");
  }
  SUBCASE("a race on every read") {
    FakeTsm t;
    auto server = t.serve_fifo(3, 3);
    auto r = attest::tsm_get_report(Bytes(64, 1), t.options());
    server.join();
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("generation changed during every one of 3 reads") != std::string::npos);
  }
}

TEST_CASE("configfs-tsm: bad REPORT_DATA sizes, no tree, an entry the provider never fills") {
  FakeTsm t;
  t.put("outblob", "REPORT");
  CHECK(attest::tsm_get_report(Bytes(63, 0), t.options()).error().code == ErrorCode::kUsage);
  CHECK(attest::tsm_get_report(Bytes(65, 0), t.options()).error().code == ErrorCode::kUsage);
  auto o = t.options();
  o.root = (t.root / "absent").string();
  CHECK_FALSE(attest::tsm_get_report(Bytes(64, 0), o));
  o = t.options();
  o.entry.clear();  // a fresh entry: a plain directory here, so no attributes appear
  auto r = attest::tsm_get_report(Bytes(64, 0), o);
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("/generation") != std::string::npos);  // no provider filled it (configfs removes attributes with the entry; a plain directory keeps them)
  t.put("outblob", "");
  CHECK(attest::tsm_get_report(Bytes(64, 0), t.options()).error().message.find("empty report") != std::string::npos);
}

TEST_CASE("evidence file: round trip and strict parsing") {
  evidence::EvidenceFile e;
  e.tee = "sim-csv";
  e.report = Bytes{1, 2, 3};
  e.hrk = Bytes(832, 9);
  const std::string text = evidence::write_evidence_file(e);
  const ByteView bytes(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
  CHECK(evidence::looks_like_evidence_file(bytes));
  auto back = evidence::parse_evidence_file(bytes);
  REQUIRE(back);
  CHECK(back->report == e.report);
  CHECK(back->hrk == e.hrk);
  CHECK(back->simulated());
  CHECK_FALSE(back->gpu_evidence);
  CHECK_FALSE(back->event_log);
  // TDX with its CC event log, and GPU evidence: both travel as base64 and come back byte for byte.
  evidence::EvidenceFile t;
  t.tee = "tdx";
  t.report = Bytes{4, 5};
  t.event_log = Bytes{0, 1, 2, 255};
  t.gpu_evidence = Bytes{'[', ']'};
  const std::string ttext = evidence::write_evidence_file(t);
  auto tback = evidence::parse_evidence_file(ByteView(reinterpret_cast<const std::uint8_t*>(ttext.data()), ttext.size()));
  REQUIRE(tback);
  CHECK(tback->event_log == t.event_log);
  CHECK(tback->gpu_evidence == t.gpu_evidence);
  for (const char* bad : {R"({"schema":"cci.evidence.v1","tee":"sim-snp","report":"AQID"})",  // simulated flag missing
                          R"({"schema":"cci.evidence.v1","tee":"tpm","report":"AQID"})",
                          R"({"schema":"cci.evidence.v1","tee":"snp","report":"!!"})",
                          R"({"schema":"cci.evidence.v1","tee":"snp","report":"AQID","certificates":{"x":"y"}})"}) {
    CAPTURE(bad);
    CHECK_FALSE(evidence::parse_evidence_file(ByteView(reinterpret_cast<const std::uint8_t*>(bad), std::strlen(bad))));
  }
}

TEST_CASE("evidence file: a field of the wrong JSON type is an error naming it, never an exception") {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"schema":"cci.evidence.v1","simulated":"no","tee":"snp","report":"AQID"})", "simulated"},
      {R"({"schema":"cci.evidence.v1","simulated":0,"tee":"sim-snp","report":"AQID"})", "simulated"},
      {R"({"schema":"cci.evidence.v1","tee":7,"report":"AQID"})", "tee"},
      {R"({"schema":"cci.evidence.v1","tee":"snp","report":["AQID"]})", "report"},
      {R"({"schema":"cci.evidence.v1","tee":"snp","report":"AQID","certificates":[]})", "certificates"},
      {R"({"schema":"cci.evidence.v1","tee":"snp","report":"AQID","certificates":{"vek":1}})", "certificates.vek"},
      {R"({"schema":"cci.evidence.v1","tee":"snp","report":"AQID","extra":true})", "extra"},
      {R"({"schema":["cci.evidence.v1"],"tee":"snp","report":"AQID"})", "schema"},
      {R"({"schema":"cci.evidence.v1","tee":"tdx","report":"AQID","event_log":5})", "event_log"},
      {R"({"schema":"cci.evidence.v1","tee":"snp","report":"AQID","event_log":"AQID"})", "event_log"},  // TDX only
      {R"({"schema":"cci.evidence.v1","tee":"snp","report":"AQID","gpu_evidence":{}})", "gpu_evidence"},
      {R"({"schema":"cci.evidence.v1","tee":"snp","report":"AQID","gpu_evidence":""})", "gpu_evidence"},  // empty
      {R"({"schema":"cci.evidence.v1","tee":"snp","report":"AQID","gpu_evidence":"A*ID"})", "gpu_evidence"},  // not base64
      {R"({"schema":"cci.evidence.v1","tee":"csv","report":"AQID","certificates":{"hrk":"A*ID"}})", "certificates.hrk"},
      {R"(["cci.evidence.v1"])", "evidence"},
      {R"({"schema":"cci.evidence.v1",)", "evidence"},
  };
  for (const auto& [text, field] : cases) {
    const std::string shown = text;  // CAPTURE cannot take a structured binding under clang 14 (the fuzz preset)
    CAPTURE(shown);
    auto r = evidence::parse_evidence_file(ByteView(reinterpret_cast<const std::uint8_t*>(text), std::strlen(text)));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::kMalformed);
    CHECK(r.error().field == field);
  }
}
