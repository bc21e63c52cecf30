// Hygon CSV formats on the genuine vectors of shared vectors/csv: certificates, the raw V1
// report, Hygon's SM2 convention (issuer user ID, little-endian fields), and the derived
// negatives.
#include <doctest/doctest.h>

#include "collateral/hygon_kds.h"

#include "base/hex.h"
#include "crypto/digest.h"
#include "csv/cert.h"
#include "csv/event_log.h"
#include "csv/evidence.h"
#include "csv/report.h"
#include "policy/csv_policy.h"
#include "verify/csv_verify.h"

#include <cstring>
#include "support/vectors.h"
#include "support/verified_for_tests.h"

using namespace cci;
using namespace cci::csv;

namespace {

struct Chain {
  CaCert hrk, hsk;
  CsvCert cek;
};

Chain load_chain(const std::filesystem::path& dir) {
  auto hrk = parse_ca_cert(test::slurp(dir / "hygon_hrk.cert"), "HRK");
  REQUIRE_MESSAGE(hrk, hrk.error().message);
  Bytes hsk_cek = test::slurp(dir / "csvrs_NZA9T14052605_hsk_cek.cert");
  REQUIRE(hsk_cek.size() == kCaCertSize + kCsvCertSize);
  auto hsk = parse_ca_cert(ByteView(hsk_cek).first(kCaCertSize), "HSK");
  REQUIRE_MESSAGE(hsk, hsk.error().message);
  auto cek = parse_csv_cert(ByteView(hsk_cek).subspan(kCaCertSize), "CEK");
  REQUIRE_MESSAGE(cek, cek.error().message);
  return {std::move(*hrk), std::move(*hsk), std::move(*cek)};
}

Report load_report(const std::filesystem::path& p) {
  auto r = parse_report(test::slurp(p));
  REQUIRE_MESSAGE(r, r.error().message);
  return std::move(*r);
}

}  // namespace

TEST_CASE("csv certificates: the genuine HRK -> HSK -> CEK chain") {
  auto dir = test::require_vectors("csv");
  Chain c = load_chain(dir);
  CHECK(c.hrk.key_usage == kUsageHrk);
  CHECK(c.hrk.pub.user_id == "HYGON-SSD-HRK");
  CHECK(to_hex(c.hrk.key_id) == "3ae86a9701355cce333a589de21583d7");
  CHECK(c.hrk.key_id == c.hrk.certifying_id);
  CHECK(c.hsk.key_usage == kUsageHsk);
  CHECK(c.hsk.certifying_id == c.hrk.key_id);
  CHECK(c.cek.pubkey_usage == kUsageCek);
  CHECK(c.cek.pub.user_id == "HYGON-SSD-CEK");
  CHECK(c.cek.sid == c.hsk.key_id);
  CHECK(c.cek.sig1.usage == kUsageHsk);
  CHECK(c.cek.sig2.usage == kUsageInvalid);
  CHECK(c.cek.sig2.empty());
  CHECK(verify_hygon_signature(c.hrk.pub, c.hrk.signed_bytes(), c.hrk.sig));
  CHECK(verify_hygon_signature(c.hrk.pub, c.hsk.signed_bytes(), c.hsk.sig));
  CHECK(verify_hygon_signature(c.hsk.pub, c.cek.signed_bytes(), c.cek.sig1));
  // The separate files are the same certificates.
  CHECK(test::slurp(dir / "csvrs_NZA9T14052605_hsk.cert") == c.hsk.raw);
  CHECK(test::slurp(dir / "csvrs_NZA9T14052605_cek.cert") == c.cek.raw);
  SUBCASE("the wrong SM2 ID never verifies") {
    HygonPublicKey k = c.hrk.pub;
    for (const char* id : {"1234567812345678", "HYGON-SSD-HSK"}) {
      k.user_id = id;
      CHECK_FALSE(verify_hygon_signature(k, c.hsk.signed_bytes(), c.hsk.sig));
    }
  }
  SUBCASE("a CEK signature is not an HSK signature") { CHECK_FALSE(verify_hygon_signature(c.hrk.pub, c.cek.signed_bytes(), c.cek.sig1)); }
}

TEST_CASE("csv certificates: structural errors name the field") {
  auto dir = test::require_vectors("csv");
  Bytes hrk = test::slurp(dir / "hygon_hrk.cert");
  CHECK_FALSE(parse_ca_cert(ByteView(hrk).first(831), "HRK"));
  Bytes high = hrk;
  high[0x044 + 40] = 1;  // qx upper bytes must be zero
  auto e = parse_ca_cert(high, "HRK");
  REQUIRE_FALSE(e);
  CHECK(e.error().field == "qx");
  Bytes uid = hrk;
  uid[0x0D4] = 0xFF;  // uid_size 255
  CHECK_FALSE(parse_ca_cert(uid, "HRK"));
  auto flipped = parse_ca_cert(test::slurp(dir / "derived/hygon_hrk.flip_qx.cert"), "HRK");
  if (flipped) CHECK_FALSE(verify_hygon_signature(flipped->pub, flipped->signed_bytes(), flipped->sig));
  auto cek_usage = test::slurp(dir / "derived/csvrs_NZA9T14052605_hsk_cek.cek_usage.cert");
  auto bad_cek = parse_csv_cert(ByteView(cek_usage).subspan(kCaCertSize), "CEK");
  REQUIRE(bad_cek);
  CHECK(bad_cek->pubkey_usage == 0x1005);
  Chain c = load_chain(dir);
  CHECK_FALSE(verify_hygon_signature(c.hsk.pub, bad_cek->signed_bytes(), bad_cek->sig1));
}

TEST_CASE("csv report: the raw V1 firmware report decodes and verifies over its masked bytes") {
  auto dir = test::require_vectors("csv");
  Chain c = load_chain(dir);
  Report r = load_report(dir / "csvrs_NZA9T14052605_report_v1_raw.bin");
  CHECK(r.version == ReportVersion::kV1);
  CHECK(r.pek_encoding == PekEncoding::kMasked);
  CHECK(r.anonce == 0x1291429bu);
  CHECK(r.chip_id == "NZA9T14052605");
  CHECK(r.policy == 0x40000001u);
  CHECK_FALSE(r.debug_allowed());
  CHECK(r.sig_usage == kUsagePek);
  CHECK(r.sig_algo == kAlgoSm2Sa);
  CHECK(to_hex(r.measure) == "1178dadbf826ec7a07444ba358376d81c312cb53d703f9da83b26c1eee2ea052");
  CHECK(to_hex(r.mnonce) == "67c6697351ff4aec29cdbaabf2fbe346");
  CHECK(std::string(r.report_data.begin(), r.report_data.begin() + 9) == "user data");
  CHECK(r.pek.pubkey_usage == kUsagePek);
  CHECK(r.pek.pub.user_id == "HYGON-SSD-PEK");
  CHECK(r.pek.sig1.usage == kUsageCek);
  CHECK(verify_hygon_signature(c.cek.pub, r.pek.signed_bytes(), r.pek.sig1));
  CHECK(verify_hygon_signature(r.pek.pub, r.signed_bytes(), r.sig));
  auto mac = crypto::hmac(crypto::DigestAlg::kSm3, r.mnonce, r.hmac_input());
  REQUIRE(mac);
  CHECK(*mac == Bytes(r.mac.begin(), r.mac.end()));
  SUBCASE("verifying over the unmasked bytes fails") {
    Bytes decoded(r.signed_bytes().begin(), r.signed_bytes().end());
    std::copy(r.report_data.begin(), r.report_data.end(), decoded.begin() + 0x40);
    CHECK_FALSE(verify_hygon_signature(r.pek.pub, decoded, r.sig));
  }
  SUBCASE("the same report in its 4096-byte page; a non-zero page tail is refused") {
    Bytes page = r.raw;
    page.resize(kReportPageSize, 0);
    auto p = parse_report(page);
    REQUIRE(p);
    CHECK(p->raw == r.raw);
    page[4000] = 1;
    CHECK_FALSE(parse_report(page));
    page[4000] = 0;
    page.push_back(0);  // oversized: 4097 bytes
    CHECK_FALSE(parse_report(page));
    Bytes v1_plus(r.raw);
    v1_plus.push_back(0);
    CHECK_FALSE(parse_report(v1_plus));
    CHECK_FALSE(parse_report(ByteView(r.raw).first(2547)));
  }
  SUBCASE("chip_id: printable ASCII, not empty, nothing after its NUL") {
    // The V1 report masks chip_id with anonce (little-endian, by offset mod 4): edits go in masked.
    auto masked = [&](Bytes b, size_t off, std::uint8_t plain) {
      b[off] = static_cast<std::uint8_t>(plain ^ (r.anonce >> (8 * (off % 4))));
      return b;
    };
    constexpr size_t kChipId = 2420;  // "NZA9T14052605" in the unmasked report
    auto field_of = [](const Bytes& b) {
      auto p = parse_report(b);
      return p ? std::string("parsed ") + p->chip_id : p.error().message;
    };
    REQUIRE(field_of(r.raw) == "parsed NZA9T14052605");
    CHECK(field_of(masked(r.raw, kChipId + 3, 0x07)) == "chip_id is not printable ASCII");
    CHECK(field_of(masked(r.raw, kChipId + 3, ' ')) == "chip_id is not printable ASCII");
    CHECK(field_of(masked(r.raw, kChipId, 0x00)) == "chip_id has bytes after its NUL terminator");
    CHECK(field_of(masked(r.raw, kChipId + 20, 'X')) == "chip_id has bytes after its NUL terminator");
    Bytes empty = r.raw;
    for (size_t i = 0; i < 13; ++i) empty = masked(empty, kChipId + i, 0x00);
    CHECK(field_of(empty) == "chip_id is empty");
  }
  CHECK(parse_report(Bytes(100, 0)).error().message.find("shorter than a V1 report (2548)") != std::string::npos);
}

TEST_CASE("csv report: derived negatives") {
  auto dir = test::require_vectors("csv");
  Chain c = load_chain(dir);
  for (const char* f : {"flip_report_data", "flip_measure", "flip_policy", "flip_sig_r"}) {
    CAPTURE(f);
    Report r = load_report(dir / ("derived/csvrs_NZA9T14052605_report_v1_raw." + std::string(f) + ".bin"));
    CHECK_FALSE(verify_hygon_signature(r.pek.pub, r.signed_bytes(), r.sig));
  }
  SUBCASE("the unused high bytes of r are refused by the parser") {
    auto r = parse_report(test::slurp(dir / "derived/csvrs_NZA9T14052605_report_v1_raw.r_highbyte.bin"));
    REQUIRE_FALSE(r);
    CHECK(r.error().field == "sig.r");
  }
  SUBCASE("a flipped PEK key breaks the CEK signature and the HMAC") {
    Report r = load_report(dir / "derived/csvrs_NZA9T14052605_report_v1_raw.flip_pek_pubkey.bin");
    CHECK_FALSE(verify_hygon_signature(c.cek.pub, r.pek.signed_bytes(), r.pek.sig1));
    CHECK(*crypto::hmac(crypto::DigestAlg::kSm3, r.mnonce, r.hmac_input()) != Bytes(r.mac.begin(), r.mac.end()));
  }
  SUBCASE("a flipped chip ID breaks only the HMAC: no signature covers it") {
    Report r = load_report(dir / "derived/csvrs_NZA9T14052605_report_v1_raw.flip_chip_id.bin");
    CHECK(r.chip_id != "NZA9T14052605");
    CHECK(verify_hygon_signature(r.pek.pub, r.signed_bytes(), r.sig));
    CHECK(*crypto::hmac(crypto::DigestAlg::kSm3, r.mnonce, r.hmac_input()) != Bytes(r.mac.begin(), r.mac.end()));
  }
}

// ---- verification (common/verify/csv_verify) ---------------------------------------------

namespace {

verify::CsvInputs genuine_inputs(const std::filesystem::path& dir, const std::string& report = "csvrs_NZA9T14052605_report_v1_raw.bin") {
  verify::CsvInputs in;
  auto ev = extract_evidence(test::slurp(dir / report));
  REQUIRE_MESSAGE(ev, ev.error().message);
  in.evidence = std::move(*ev);
  in.hrk = test::slurp(dir / "hygon_hrk.cert");
  in.hsk_cek = test::slurp(dir / "csvrs_NZA9T14052605_hsk_cek.cert");
  in.hsk_cek_source = "the test";
  return in;
}

std::string failed(const verify::CsvVerification& v) {
  std::string s;
  for (const auto& c : v.checks.items()) {
    if (c.outcome == verify::Outcome::kFail) s += c.id + ": " + c.detail + "; ";
  }
  return s;
}

// "OUTCOME: detail" of the check with this id ("pass: ...", "fail: ..."), or "absent".
std::string find(const verify::CheckList& l, const std::string& id) {
  for (const auto& c : l.items()) {
    if (c.id == id) return std::string(verify::outcome_name(c.outcome)) + ": " + c.detail;
  }
  return std::string("absent");
}

}  // namespace

TEST_CASE("verify_csv: the genuine chain and raw report verify completely") {
  auto dir = test::require_vectors("csv");
  auto v = verify::verify_csv(genuine_inputs(dir));
  CHECK_MESSAGE(v.passed, failed(v));
  std::string ids;
  for (const auto& c : v.checks.items()) ids += c.id + " ";
  CHECK(ids == "csv.report_structure csv.hrk_pinned csv.hrk_self_signature csv.hsk csv.cek csv.pek csv.chip_binding "
               "csv.report_signature csv.hmac ");
  auto again = verify::verify_csv(genuine_inputs(dir));  // the memoised chain gives the same verdict
  CHECK(again.passed);
}

TEST_CASE("verify_csv: negatives name the failing check") {
  auto dir = test::require_vectors("csv");
  auto in = genuine_inputs(dir);
  SUBCASE("missing HSK/CEK is missing collateral; the report signature is still checked") {
    in.hsk_cek.reset();
    auto v = verify::verify_csv(in);
    CHECK_FALSE(v.passed);
    CHECK(v.missing_collateral);
    CHECK(failed(v).rfind("csv.hsk: no HSK/CEK for chip NZA9T14052605", 0) == 0);
  }
  SUBCASE("missing HRK") {
    in.hrk.reset();
    auto v = verify::verify_csv(in);
    CHECK(v.missing_collateral);
  }
  SUBCASE("an HRK that is not the pinned one") {
    in.hrk = test::slurp(dir / "derived/hygon_hrk.flip_qx.cert");
    auto v = verify::verify_csv(in);
    CHECK_FALSE(v.passed);
    CHECK_FALSE(v.missing_collateral);
    CHECK(failed(v).find("csv.hrk_pinned") == 0);
  }
  SUBCASE("a CEK with the wrong usage") {
    in.hsk_cek = test::slurp(dir / "derived/csvrs_NZA9T14052605_hsk_cek.cek_usage.cert");
    CHECK(failed(verify::verify_csv(in)).find("csv.cek: CEK pubkey usage/algo 0x1005") == 0);
  }
  SUBCASE("derived report negatives") {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"flip_report_data", "csv.report_signature"}, {"flip_measure", "csv.report_signature"}, {"flip_policy", "csv.report_signature"},
        {"flip_sig_r", "csv.report_signature"},       {"flip_pek_pubkey", "csv.pek"},           {"flip_chip_id", "csv.hmac"},
        {"r_highbyte", "csv.report_structure"}};
    for (const auto& [file, check] : cases) {
      const std::string shown = file;  // CAPTURE cannot take a structured binding under clang 14 (the fuzz preset)
      CAPTURE(shown);
      auto bad = genuine_inputs(dir, "derived/csvrs_NZA9T14052605_report_v1_raw." + file + ".bin");
      auto v = verify::verify_csv(bad);
      CHECK_FALSE(v.passed);
      CHECK(failed(v).find(check + ":") != std::string::npos);
    }
  }
  SUBCASE("anonce altered in a raw report: the PEK no longer unmasks") {
    for (size_t off : {0xB4, 0xB8}) in.evidence.report[off] ^= 0x01;  // even with the unsigned sig_usage/algo adjusted
    in.evidence.report[0xBC] ^= 0x01;
    auto v = verify::verify_csv(in);
    CHECK_FALSE(v.passed);
    CHECK(failed(v).find("csv.report_structure") == 0);
  }
  SUBCASE("r = 0 and r = n") {
    auto set_r = [&](const std::string& be_hex) {
      auto be = *from_hex(be_hex, "r");
      Bytes r(be.rbegin(), be.rend());
      std::copy(r.begin(), r.end(), in.evidence.report.begin() + 0xC0);
    };
    set_r(std::string(64, '0'));
    CHECK(failed(verify::verify_csv(in)).find("csv.report_signature") != std::string::npos);
    set_r("fffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123");  // the SM2 group order
    CHECK(failed(verify::verify_csv(in)).find("csv.report_signature") != std::string::npos);
  }
  SUBCASE("a PEK on another curve") {
    in.evidence.report[0x150 + 0x10] ^= 0x9b ^ 0x02;  // curve_id 3 -> 1 (masked byte)
    auto v = verify::verify_csv(in);
    CHECK_FALSE(v.passed);
  }
  SUBCASE("the HSK/CEK of this chip do not certify another chip's PEK") {
    auto other = genuine_inputs(dir, "trustee_KPA64911240507_evidence_v1wrapper.json");
    auto v = verify::verify_csv(other);
    CHECK_FALSE(v.passed);
    CHECK(failed(v).find("csv.pek: PEK signed by the CEK: SM2/SM3 signature does not verify") != std::string::npos);
  }
}

TEST_CASE("verify_csv: the HSK and CEK must be what the chain says they are, each refusal on its check before any signature") {
  auto dir = test::require_vectors("csv");
  struct Edit {
    size_t at;  // in HSK || CEK (the HSK is the first 832 bytes)
    const char* check;
    const char* says;
  };
  const Edit edits[] = {
      {0x24, "csv.hsk", "HSK key_usage 0x12 is not 0x13"},
      {0x14, "csv.hsk", "expected the HRK's key ID"},
      {0x40, "csv.hsk", "HSK curve_id is not SM2"},
      {kCaCertSize + 0x1A4, "csv.cek", "expected the HSK's key ID"},
      {kCaCertSize + 0x414, "csv.cek", "CEK signature 1 is"},
      {kCaCertSize + 0x61C, "csv.cek", "CEK signature 2 is"},
  };
  for (const auto& e : edits) {
    CAPTURE(e.says);
    auto in = genuine_inputs(dir);
    REQUIRE(in.hsk_cek);
    REQUIRE(in.hsk_cek->size() > e.at);
    (*in.hsk_cek)[e.at] ^= 0x01;
    const auto v = verify::verify_csv(in);
    CHECK_FALSE(v.passed);
    std::string detail;
    for (const auto& c : v.checks.items()) {
      if (c.id == e.check && c.outcome == verify::Outcome::kFail) detail = c.detail;
    }
    CHECK(detail.find(e.says) != std::string::npos);
  }
}

TEST_CASE("verify_csv: flipping any signed byte or signature byte is never accepted") {
  auto dir = test::require_vectors("csv");
  auto in = genuine_inputs(dir);
  const Bytes original = in.evidence.report;
  for (size_t i = 0; i < 0x150; ++i) {
    if (i >= 0xB4 && i < 0xC0) continue;  // sig_usage, sig_algo, anonce: unsigned (anonce is caught by the PEK, see above)
    in.evidence.report = original;
    in.evidence.report[i] ^= 0x01;
    if (verify::verify_csv(in).passed) FAIL("byte " << i << " flipped and still accepted");
  }
}

TEST_CASE("verify_csv: the trustee evidence files verify as far as they can") {
  auto dir = test::require_vectors("csv");
  SUBCASE("v1 wrapper (restored PEK): report signature passes, chain incomplete without its CEK") {
    auto in = genuine_inputs(dir, "trustee_KPA64911240507_evidence_v1wrapper.json");
    in.hsk_cek.reset();
    auto v = verify::verify_csv(in);
    CHECK_FALSE(v.passed);
    CHECK(v.missing_collateral);
    REQUIRE(v.report);
    CHECK(v.report->pek_encoding == PekEncoding::kRestored);
    CHECK(v.report->policy == 0x45u);
    CHECK(to_hex(v.report->measure) == "ae2a2cf1f41a485fa37bf9ae92f678783c59fbc79de7b5d237743d58f5538034");
    std::string pass;
    for (const auto& c : v.checks.items()) {
      if (c.outcome == verify::Outcome::kPass) pass += c.id + " ";
    }
    CHECK(pass == "csv.report_structure csv.envelope_pek csv.envelope_serial csv.hrk_pinned csv.report_signature ");
  }
  SUBCASE("the envelope's own PEK and serial number must be the report's (else a spoofable claim)") {
    auto in = genuine_inputs(dir, "trustee_KPA64911240507_evidence_v1wrapper.json");
    in.hsk_cek.reset();
    REQUIRE(in.evidence.envelope_pek);
    REQUIRE(in.evidence.envelope_serial);
    auto other_pek = in;
    other_pek.evidence.envelope_pek->back() ^= 0x01;
    CHECK(find(verify::verify_csv(other_pek).checks, "csv.envelope_pek").rfind("fail: cert_chain.pek", 0) == 0);
    auto other_serial = in;
    *other_serial.evidence.envelope_serial = "NZA9T00000000";
    CHECK(find(verify::verify_csv(other_serial).checks, "csv.envelope_serial").rfind("fail: serial_number \"NZA9T00000000\"", 0) == 0);
  }
  SUBCASE("legacy JSON: the report signature by the envelope's PEK verifies") {
    auto in = genuine_inputs(dir, "trustee_NZA9T01021905_evidence_legacyjson.json");
    in.hsk_cek.reset();
    auto v = verify::verify_csv(in);
    REQUIRE(v.report);
    CHECK(v.missing_collateral);
    CHECK(v.report->policy == 0x1u);
    CHECK(to_hex(v.report->measure) == "c3fdc22f3be03878bbbe7257663fab458ed45b5f393db7061794f5e537c8648b");
    CHECK(failed(v).find("csv.report_signature") == std::string::npos);
  }
  SUBCASE("anonce altered in restored evidence: the signature still verifies, the decoded fields move") {
    auto in = genuine_inputs(dir, "trustee_KPA64911240507_evidence_v1wrapper.json");
    in.hsk_cek.reset();
    for (size_t off : {0xB4, 0xB8, 0xBC}) in.evidence.report[off] ^= 0x01;  // sig_usage and sig_algo are unsigned too
    auto v = verify::verify_csv(in);
    REQUIRE(v.report);
    CHECK(v.report->policy == 0x44u);  // NODBG cleared: only a pinned measure catches this (policy layer)
    CHECK(failed(v).find("csv.report_signature") == std::string::npos);
  }
  SUBCASE("malformed evidence JSON") {
    for (const char* text : {"{", "{\"attestation_report\": 5}", "{\"attestation_report\": {\"magic\": [1], \"flags\": 0, \"data\": []}}",
                             "[1,2,3]"}) {
      CAPTURE(text);
      auto ev = extract_evidence(ByteView(reinterpret_cast<const std::uint8_t*>(text), std::strlen(text)));
      CHECK((!ev || !parse_report(ev->report, ev->version)));
    }
  }
}

// A report's first field is a digest: about one report in 250 starts with 0x7B, '{'. It stays a
// binary report (once it was taken for JSON and refused, and the appraiser passed it to SEV-SNP).
TEST_CASE("csv evidence: a binary report that starts with '{' or white space and '{' is still a binary report") {
  auto dir = test::require_vectors("csv");
  const Bytes genuine = test::slurp(dir / "csvrs_NZA9T14052605_report_v1_raw.bin");
  REQUIRE(genuine.size() == kV1ReportSize);
  Bytes page = genuine;
  page.resize(kReportPageSize, 0);
  for (Bytes raw : {genuine, page}) {
    for (std::string_view lead : {"{", " \n{", "\t{\""}) {
      std::copy(lead.begin(), lead.end(), raw.begin());
      CAPTURE(raw.size());
      CAPTURE(lead);
      CHECK(looks_like_csv(raw));
      auto ev = extract_evidence(raw);
      REQUIRE_MESSAGE(ev, ev.error().message);
      CHECK(ev->format == "raw");
      CHECK(ev->report == raw);
    }
  }
  // Not a report's size: meant as JSON, so broken JSON is named as such.
  const std::string broken = "{\"attestation_report\": ";
  auto ev = extract_evidence(ByteView(reinterpret_cast<const std::uint8_t*>(broken.data()), broken.size()));
  REQUIRE_FALSE(ev);
  CHECK(ev.error().message.find("not valid JSON") != std::string::npos);
  CHECK_FALSE(looks_like_csv(ByteView(reinterpret_cast<const std::uint8_t*>(broken.data()), broken.size())));
}

TEST_CASE("CC event log: the CSV guest's CCEL parses and replays to the RTMRs trustee derives") {
  auto dir = test::require_vectors("csv");
  auto events = parse_event_log(test::slurp(dir / "trustee_CCEL_data_csv.bin"));
  REQUIRE_MESSAGE(events, events.error().message);
  CHECK(events->size() == 82);
  auto m = replay_rtmrs(*events);
  REQUIRE(m);
  CHECK(to_hex((*m)[1]) == "d76c4b289abcdf0e904ac02df69d48cdc9047723024a605ecb17ecbcb9fb62e3");
  CHECK(to_hex((*m)[2]) == "0559c2040dc2045fe06015787de4d4b4d8636a99d298046c52700a100f1fdb64");
  CHECK(to_hex((*m)[3]) == "287078930b845b372d7a9504f34d09db7a1ca65c17f59c86fb388bdb4a2bb994");
  CHECK(to_hex((*m)[0]) == std::string(64, '0'));
  CHECK(to_hex((*m)[4]) == std::string(64, '0'));
  SUBCASE("truncated inside an event is an error, not a shorter log") {
    Bytes log = test::slurp(dir / "trustee_CCEL_data_csv.bin");
    log.resize(200);
    CHECK_FALSE(parse_event_log(log));
  }
}

TEST_CASE("CSV policy: REPORT_DATA compared exactly, a V1 report without one refused, firmware and ABI minimums, a log that does not replay") {
  Report r;
  r.version = ReportVersion::kV2;
  r.policy = 0x45 | (std::uint64_t{1} << 16) | (std::uint64_t{2} << 24);  // NODBG | ES | CSV3, ABI 1.2
  r.pek.api_major = 1;
  r.pek.api_minor = 3;
  r.report_data.fill(0x5a);
  policy::CsvExpectations ex;
  ex.insecure_any_measurement = true;
  auto outcome = [](const verify::CheckList& l, const std::string& id) {
    const std::string f = find(l, id);
    return f.substr(0, f.find(':'));  // "pass", "fail", "skip" or "absent"
  };
  auto eval = [&](const policy::Json& p) { return policy::evaluate_csv_policy(p, verify::VerifiedForTests::make(Report(r)), ex); };
  const policy::Json p = policy::default_policy();
  ex.report_data = Bytes(64, 0x5a);
  CHECK(outcome(eval(p), "policy.report_data") == "pass");
  ex.report_data->back() ^= 1;
  CHECK(outcome(eval(p), "policy.report_data") == "fail");
  ex.report_data.reset();
  CHECK(outcome(eval(p), "policy.report_data") == "skip");
  r.version = ReportVersion::kV1;  // V1: the masked fields need exact expected values
  CHECK(outcome(eval(p), "policy.report_data") == "fail");
  r.version = ReportVersion::kV2;
  for (const auto& [key, want, result] : {std::tuple<const char*, const char*, const char*>{"min_firmware", "1.3", "pass"}, {"min_firmware", "1.4", "fail"},
                                          {"min_firmware", "2.0", "fail"}, {"min_abi", "1.2", "pass"}, {"min_abi", "1.3", "fail"}}) {
    const std::string shown = std::string(key) + " " + want;
    CAPTURE(shown);
    policy::Json q = p;
    q[key] = want;
    CHECK(outcome(eval(q), std::string("policy.") + key) == result);
  }
  ex.replayed = Result<Rtmrs>(make_error(ErrorCode::kMalformed, "the log ends inside an event", "event_log"));
  CHECK(outcome(eval(p), "policy.event_log") == "fail");
}

TEST_CASE("CSV policy: V2 RTMRs against the event log replay, RTMR0 against measure, V1 pins") {
  auto dir = test::require_vectors("csv");
  auto events = parse_event_log(test::slurp(dir / "trustee_CCEL_data_csv.bin"));
  REQUIRE(events);
  Report r;
  r.version = ReportVersion::kV2;
  r.policy = 0x45;  // NODBG | ES | CSV3
  r.rtmr = *replay_rtmrs(*events);
  r.measure.fill(0x11);
  r.rtmr[0] = r.measure;
  policy::CsvExpectations ex;
  ex.measurements = {Bytes(32, 0x11)};
  ex.report_data = Bytes(64, 0);
  ex.replayed = replay_rtmrs(*events);
  policy::Json p = policy::default_policy();
  p["csv_generation"] = "csv3";
  auto ok = policy::evaluate_csv_policy(p, verify::VerifiedForTests::make(r), ex);
  CHECK(ok.all_passed());
  CHECK(find(ok, "policy.event_log") == "pass: the CC event log replays to RTMR1-4");
  CHECK(find(ok, "policy.rtmr0").rfind("pass", 0) == 0);
  r.rtmr[2][0] ^= 1;
  CHECK(find(policy::evaluate_csv_policy(p, verify::VerifiedForTests::make(r), ex), "policy.event_log").find("does not replay to RTMR2") != std::string::npos);
  r.rtmr[0][0] ^= 1;
  CHECK(find(policy::evaluate_csv_policy(p, verify::VerifiedForTests::make(r), ex), "policy.rtmr0").rfind("fail", 0) == 0);
  r.version = ReportVersion::kV1;
  auto v1 = policy::evaluate_csv_policy(p, verify::VerifiedForTests::make(r), ex);
  CHECK(find(v1, "policy.event_log").rfind("skip", 0) == 0);
  ex.measurements.clear();
  CHECK(find(policy::evaluate_csv_policy(p, verify::VerifiedForTests::make(r), ex), "policy.measurement").rfind("fail: no expected measurement", 0) == 0);
  ex.insecure_unpinned_v1 = true;
  CHECK(find(policy::evaluate_csv_policy(p, verify::VerifiedForTests::make(r), ex), "policy.measurement").rfind("skip", 0) == 0);
  r.policy = 0x44;  // NODBG clear
  CHECK(find(policy::evaluate_csv_policy(p, verify::VerifiedForTests::make(r), ex), "policy.debug").rfind("fail", 0) == 0);
  // V2 (no masking) still needs an expected measurement, unless any image is accepted by name.
  r.version = ReportVersion::kV2;
  ex.insecure_unpinned_v1 = false;
  CHECK(find(policy::evaluate_csv_policy(p, verify::VerifiedForTests::make(r), ex), "policy.measurement").rfind("fail: no expected measurement", 0) == 0);
  ex.insecure_any_measurement = true;
  CHECK(find(policy::evaluate_csv_policy(p, verify::VerifiedForTests::make(r), ex), "policy.measurement").rfind("skip", 0) == 0);
  // SEV-SNP fields: listed as not applicable from a policy file, failed when asked for by flag.
  p["host_data"] = std::string(64, '0');
  p["min_tcb"] = {{"snp", 8}};
  auto snp_keys = policy::evaluate_csv_policy(p, verify::VerifiedForTests::make(r), ex);
  CHECK(find(snp_keys, "policy.host_data").rfind("skip: host_data is an SEV-SNP report field", 0) == 0);
  CHECK(find(snp_keys, "policy.min_tcb").rfind("skip", 0) == 0);
  ex.named_fields = {"host_data"};
  snp_keys = policy::evaluate_csv_policy(p, verify::VerifiedForTests::make(r), ex);
  CHECK(find(snp_keys, "policy.host_data").rfind("fail: host_data was given on the command line", 0) == 0);
  CHECK_FALSE(snp_keys.all_passed());
}

TEST_CASE("Hygon KDS: a chip ID from a report is used in a URL or a cache path only when it is 1-64 letters and digits") {
  // The chip ID comes from the report unauthenticated (the CSV specification signs no mapping
  // from chip to CEK): "../x" must not reach the cache's path, "x&y" not the key server's query.
  test::TempDir tmp;
  const collateral::HygonCache cache(tmp.str());
  CHECK_FALSE(cache.hsk_cek("NZA9T14052605")->has_value());  // absent, and asked for
  for (const std::string& id : std::vector<std::string>{"", "../../etc", "NZA9T1405/2605", "x&snumber=y", "chip id", std::string(65, 'A'), "NZA9T14052605\n"}) {
    CAPTURE(id);
    auto cached = cache.hsk_cek(id);
    REQUIRE_FALSE(cached);
    CHECK(cached.error().field == "chip_id");
    collateral::HygonFetchOptions o;
    o.kds_url = "http://127.0.0.1:1";  // never reached
    const auto fetched = collateral::fetch_hygon_collateral(id, {collateral::HygonItem::kHskCek}, cache, o);
    REQUIRE(fetched.size() == 1);
    REQUIRE(fetched[0].error);
    CHECK(fetched[0].error->field == "chip_id");
  }
}
