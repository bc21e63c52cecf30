// Hygon CSV formats on the genuine vectors of shared vectors/csv: certificates, the raw V1
// report, Hygon's SM2 convention (issuer user ID, little-endian fields), and the derived
// negatives.
#include <doctest/doctest.h>

#include "base/hex.h"
#include "crypto/digest.h"
#include "csv/cert.h"
#include "csv/report.h"
#include "support/vectors.h"

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
    CHECK_FALSE(parse_report(ByteView(r.raw).first(2547)));
  }
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
