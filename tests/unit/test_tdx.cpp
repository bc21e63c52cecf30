// Intel TDX quotes (common/tdx, common/verify/tdx_verify) against vectors/tdx/manifest.json:
// every genuine quote (9 x v4, 1 x v5) parsed to the facts the manifest records (header, TD
// report body, QE report, the PCK leaf's SGX extensions), and every crypto-only case, plus
// the dcap cases whose failing check is one of the cryptographic ones, giving its verdict at its
// clock, rejected cases failing on exactly the check the manifest names.
#include <doctest/doctest.h>

#include <ctime>
#include <functional>
#include <map>

#include <nlohmann/json.hpp>

#include "base/hex.h"
#include "crypto/x509.h"
#include "tdx/collateral.h"
#include "crypto/digest.h"
#include "eventlog/tcg2.h"
#include "support/vectors.h"
#include "support/refusals.h"
#include "tdx/pck.h"
#include "tdx/quote.h"
#include "verify/tdx_verify.h"

using namespace cci;
using nlohmann::json;

namespace {

json load(const std::filesystem::path& p) {
  const Bytes b = test::slurp(p);
  return json::parse(b.begin(), b.end());
}

std::time_t utc(const std::string& s) { return test::utc_time(s); }

template <class A>
std::string hex(const A& a) {
  return to_hex(ByteView(a.data(), a.size()));
}

// The manifest's failing-check names and this verifier's check ids.
const std::map<std::string, std::string> kCheckIds = {
    {"quote.parse", "tdx.quote"},
    {"quote.header", "tdx.quote"},
    {"pck.chain", "tdx.pck_chain"},
    {"pck.validity", "tdx.pck_validity"},
    {"qe_report.signature", "tdx.qe_report_signature"},
    {"qe_report.data", "tdx.qe_report_data"},
    {"quote.signature", "tdx.quote_signature"},
};

verify::TdxEvidence evidence(ByteView quote, std::time_t at) {
  verify::TdxEvidence e;
  e.quote = quote;
  e.at = at;
  e.collateral_required = false;
  return e;
}

std::string text(const std::filesystem::path& p) {
  const Bytes b = test::slurp(p);
  return std::string(b.begin(), b.end());
}

verify::TdxCollateral collateral(const std::filesystem::path& d) {
  verify::TdxCollateral k;
  k.tcb_info = test::slurp(d / "tcb_info.json");
  k.qe_identity = test::slurp(d / "qe_identity.json");
  k.tcb_info_issuer_chain_pem = text(d / "tcb_info_issuer_chain.pem");
  k.qe_identity_issuer_chain_pem = text(d / "qe_identity_issuer_chain.pem");
  k.pck_crl = test::slurp(d / "pck_crl.der");
  k.root_ca_crl = test::slurp(d / "root_ca_crl.der");
  return k;
}

}  // namespace

TEST_CASE("every genuine TDX quote parses to the facts the manifest records") {
  const auto dir = test::require_vectors("tdx");
  const json m = load(dir / "manifest.json");
  REQUIRE(m["quotes"].size() == 10);
  for (const auto& f : m["quotes"]) {
    CAPTURE(f["path"].get<std::string>());
    const Bytes data = test::slurp(dir / f["path"].get<std::string>());
    CHECK(to_hex(crypto::digest(crypto::DigestAlg::kSha256, data)) == f["sha256"]);
    auto q = tdx::parse_quote(data);
    REQUIRE(q);
    CHECK(q->version == f["version"]);
    CHECK(q->tee_type == 0x81);
    CHECK(f["body_type"].get<std::string>().rfind(tdx::body_type_name(q->body_type), 0) == 0);
    CHECK(q->signed_bytes.size() == f["signed_length"]);
    CHECK(q->signature_data_length == f["signature_data_length"]);
    CHECK(q->trailing_bytes == f["trailing_bytes_after_signature_data"]);
    const tdx::TdReport& b = q->body;
    CHECK(hex(b.tee_tcb_svn) == f["tee_tcb_svn"]);
    CHECK(hex(b.mr_seam) == f["mr_seam"]);
    CHECK(hex(b.seam_attributes) == f["seam_attributes"]);
    CHECK(hex(b.td_attributes) == f["td_attributes"]);
    CHECK(hex(b.xfam) == f["xfam"]);
    CHECK(hex(b.mr_td) == f["mr_td"]);
    CHECK(hex(b.mr_config_id) == f["mr_config_id"]);
    for (size_t i = 0; i < 4; ++i) CHECK(hex(b.rtmr[i]) == f["rtmr"][i]);
    CHECK(hex(b.report_data) == f["report_data"]);
    CHECK(b.tee_tcb_svn2.has_value() == f.contains("tee_tcb_svn2"));
    if (f.contains("tee_tcb_svn2")) CHECK(hex(*b.tee_tcb_svn2) == f["tee_tcb_svn2"]);
    // DEBUG is bit 0 of the little-endian TD_ATTRIBUTES: only trustee's debug TD has it.
    CHECK(b.debug() == (f["path"] == "quotes/trustee_50806f_v4_debug.dat"));
    CHECK(q->qe_report.isv_svn == f["qe_isvsvn"]);
    CHECK(q->qe_report.isv_prod_id == 2);
    CHECK(hex(q->qe_report.mr_signer) == f["qe_mrsigner"]);

    // The PCK leaf: its SGX extensions as the manifest records them.
    auto v = verify::verify_tdx_quote(evidence(data, utc("2026-01-01T00:00:00Z")));
    REQUIRE(v.pck);
    CHECK(hex(v.pck->fmspc) == f["pck"]["fmspc"]);
    CHECK(hex(v.pck->pceid) == f["pck"]["pceid"]);
    CHECK(v.pck->pcesvn == f["pck"]["pcesvn"]);
    CHECK(hex(v.pck->cpusvn) == f["pck"]["cpusvn"]);
    CHECK(v.pck->sgx_type == f["pck"]["sgx_type"]);
    // CPUSVN's 16 bytes are the 16 TCB components, in order.
    CHECK(v.pck->cpusvn == v.pck->tcb_components);
    REQUIRE(v.pck_ca);
    CHECK(v.pck_ca->subject_common_name() == f["pck"]["issuer_cn"]);
  }
  // The signed regions the README gives.
  auto sample = tdx::parse_quote(test::slurp(dir / "quotes/dcapqvl_b0c06f_v4_sample.dat"));
  REQUIRE(sample);
  CHECK(to_hex(crypto::digest(crypto::DigestAlg::kSha256, sample->signed_bytes)) == "263b491bb14d627cc0d13408888dbe1ef550b7b8265794702303300bc388ef17");
  auto v5 = tdx::parse_quote(test::slurp(dir / "quotes/trustee_90c06f_v5.dat"));
  REQUIRE(v5);
  CHECK(to_hex(crypto::digest(crypto::DigestAlg::kSha256, v5->signed_bytes)) == "c2874ba05bd903acf23b28184000ea46a0ffa09b33208be623fbefe492fea6cd");
  // trustee's parsed-claims golden for its debug quote: the body fields by name.
  const json golden = load(dir / "goldens/trustee_parse_tdx_claims_expected.json")["quote"]["body"];
  auto dbg = tdx::parse_quote(test::slurp(dir / "quotes/trustee_50806f_v4_debug.dat"));
  REQUIRE(dbg);
  CHECK(hex(dbg->body.mr_td) == golden["mr_td"]);
  CHECK(hex(dbg->body.mr_seam) == golden["mr_seam"]);
  CHECK(hex(dbg->body.mr_signer_seam) == golden["mrsigner_seam"]);
  CHECK(hex(dbg->body.mr_owner) == golden["mr_owner"]);
  CHECK(hex(dbg->body.mr_owner_config) == golden["mr_owner_config"]);
  CHECK(hex(dbg->body.report_data) == golden["report_data"]);
  for (size_t i = 0; i < 4; ++i) CHECK(hex(dbg->body.rtmr[i]) == golden["rtmr_" + std::to_string(i)]);
}

TEST_CASE("TDX crypto-only cases: each verdict at its clock, each rejection on the check the manifest names") {
  const auto dir = test::require_vectors("tdx");
  const json m = load(dir / "manifest.json");
  int crypto = 0, dcap = 0;
  for (const auto& c : m["cases"]) {
    const std::string kind = c["kind"];
    const std::string failing = c.value("failing_check", "");
    // The dcap cases whose failure is cryptographic are judged here too; the others need
    // Intel's collateral (TCB Info, QE Identity, CRLs).
    if (kind != "crypto_only" && !(kind == "dcap" && kCheckIds.count(failing))) continue;
    CAPTURE(c["id"].get<std::string>());
    (kind == "crypto_only" ? crypto : dcap)++;
    // The pinned root is this binary's: a case naming another is not one this test can run.
    REQUIRE(c["root"] == "ca/intel_sgx_root_ca.pem");
    const Bytes data = test::slurp(dir / c["quote"].get<std::string>());
    auto v = verify::verify_tdx_quote(evidence(data, utc(c["at"])));
    if (c["expect"] == "accept") {
      for (const auto& k : v.checks.items()) {
        CAPTURE(k.id);
        CAPTURE(k.detail);
        CHECK(k.outcome == verify::Outcome::kPass);
      }
      CHECK(v.passed);
      continue;
    }
    CHECK_FALSE(v.passed);
    const std::string id = kCheckIds.at(failing);
    bool failed = false;
    for (const auto& k : v.checks.items()) {
      if (k.outcome != verify::Outcome::kFail) continue;
      CAPTURE(k.detail);
      CHECK(k.id == id);  // the first failure is the named one
      failed = true;
      break;
    }
    CHECK(failed);
  }
  CHECK(crypto == 19);
  CHECK(dcap == 7);
}

TEST_CASE("TDX quote structure: each refusal names its field") {
  const auto dir = test::require_vectors("tdx");
  const Bytes good = test::slurp(dir / "quotes/dcapqvl_b0c06f_v4_sample.dat");
  REQUIRE(tdx::parse_quote(good));
  auto refused = [&](size_t at, std::uint8_t value, const std::string& field, ErrorCode code) {
    Bytes b = good;
    b[at] = value;
    auto q = tdx::parse_quote(b);
    CAPTURE(field);
    REQUIRE_FALSE(q);
    CHECK(q.error().field == field);
    CHECK(q.error().code == code);
  };
  refused(0, 3, "version", ErrorCode::kUnsupported);
  refused(2, 3, "att_key_type", ErrorCode::kUnsupported);
  refused(4, 0x00, "tee_type", ErrorCode::kUnsupported);  // SGX
  refused(12, 0x00, "qe_vendor_id", ErrorCode::kUnsupported);
  refused(632 + 3, 0x7f, "signature_data_length", ErrorCode::kMalformed);
  refused(764, 5, "certification_data_type", ErrorCode::kUnsupported);
  refused(766, 0xff, "certification_data_size", ErrorCode::kMalformed);
  refused(1219, 0xff, "qe_auth_data_size", ErrorCode::kMalformed);
  // Every truncation is refused, never read past.
  for (size_t n : {size_t{0}, size_t{47}, size_t{48}, size_t{631}, size_t{635}, size_t{700}, size_t{1217}, good.size() - 71}) {
    CAPTURE(n);
    CHECK_FALSE(tdx::parse_quote(ByteView(good).first(n)));
  }
}

TEST_CASE("PCK SGX extensions: DER that is not the profile's is refused naming the element") {
  // A minimal extension: PPID, TCB (16 components, PCESVN, CPUSVN), PCE-ID, FMSPC, SGX type.
  auto tlv = [](std::uint8_t tag, Bytes v) {
    Bytes out{tag};
    if (v.size() < 0x80) {
      out.push_back(static_cast<std::uint8_t>(v.size()));
    } else if (v.size() < 0x100) {
      out.push_back(0x81);
      out.push_back(static_cast<std::uint8_t>(v.size()));
    } else {
      out.push_back(0x82);
      out.push_back(static_cast<std::uint8_t>(v.size() >> 8));
      out.push_back(static_cast<std::uint8_t>(v.size()));
    }
    out.insert(out.end(), v.begin(), v.end());
    return out;
  };
  auto oid = [&](std::vector<std::uint8_t> arcs) {
    Bytes v{0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};
    v.insert(v.end(), arcs.begin(), arcs.end());
    return tlv(0x06, v);
  };
  auto pair = [&](Bytes o, Bytes value) {
    o.insert(o.end(), value.begin(), value.end());
    return tlv(0x30, o);
  };
  // `value_of`: the DER value of a TCB component (17: PCESVN) in place of the default; `tcb_extra`
  // and `type`: appended to the TCB sequence, the SGX type's ENUMERATED.
  auto build = [&](int drop_component, Bytes fmspc, std::map<int, Bytes> value_of = {}, Bytes tcb_extra = {}, Bytes type = {0x0a, 0x01, 0x01},
                   int drop_item = 0, Bytes item_extra = {}, bool tcb_as_set = false) {
    Bytes tcb;
    for (std::uint8_t i = 1; i <= 16; ++i) {
      if (i == drop_component) continue;
      auto p = pair(oid({2, i}), value_of.count(i) ? value_of[i] : tlv(0x02, {static_cast<std::uint8_t>(i)}));
      tcb.insert(tcb.end(), p.begin(), p.end());
    }
    tcb.insert(tcb.end(), tcb_extra.begin(), tcb_extra.end());
    auto pcesvn = pair(oid({2, 17}), value_of.count(17) ? value_of[17] : tlv(0x02, {0x00, 0x80}));
    auto cpusvn = pair(oid({2, 18}), tlv(0x04, Bytes(16, 7)));
    tcb.insert(tcb.end(), pcesvn.begin(), pcesvn.end());
    tcb.insert(tcb.end(), cpusvn.begin(), cpusvn.end());
    Bytes all;
    int item = 0;
    for (const Bytes& p : {pair(oid({1}), tlv(0x04, Bytes(16, 1))), pair(oid({2}), tlv(tcb_as_set ? 0x31 : 0x30, tcb)), pair(oid({3}), tlv(0x04, {0, 0})),
                           pair(oid({4}), tlv(0x04, fmspc)), pair(oid({5}), type)}) {
      if (++item == drop_item) continue;
      all.insert(all.end(), p.begin(), p.end());
    }
    all.insert(all.end(), item_extra.begin(), item_extra.end());
    return tlv(0x30, all);
  };
  auto ok = tdx::parse_pck_extensions(build(0, Bytes{0x90, 0xc0, 0x6f, 0, 0, 0}));
  if (!ok) FAIL(ok.error().message);
  CHECK(ok->pcesvn == 128);
  CHECK(ok->tcb_components[15] == 16);
  CHECK(to_hex(ok->fmspc) == "90c06f000000");
  CHECK(ok->sgx_type == 1);
  auto missing = tdx::parse_pck_extensions(build(7, Bytes{0x90, 0xc0, 0x6f, 0, 0, 0}));
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("TCB component 7 is missing") != std::string::npos);
  auto short_fmspc = tdx::parse_pck_extensions(build(0, Bytes{0x90, 0xc0}));
  REQUIRE_FALSE(short_fmspc);
  CHECK(short_fmspc.error().message.find("FMSPC") != std::string::npos);
  Bytes trailing = build(0, Bytes(6, 0));
  trailing.push_back(0);
  CHECK_FALSE(tdx::parse_pck_extensions(trailing));
  Bytes truncated = build(0, Bytes(6, 0));
  truncated.pop_back();
  CHECK_FALSE(tdx::parse_pck_extensions(truncated));
  // Each malformed value for its reason: INTEGERs minimal, non-negative and in range.
  const Bytes fm(6, 0);
  const std::vector<std::pair<Bytes, std::string>> bad = {
      {build(0, fm, {{3, tlv(0x02, {})}}), "TCB component 3 is not an integer up to 255"},
      {build(0, fm, {{3, tlv(0x02, {0x00, 0x00, 0x00, 0x80})}}), "TCB component 3 is not an integer up to 255"},
      {build(0, fm, {{3, tlv(0x02, {0x80})}}), "TCB component 3 is negative"},
      {build(0, fm, {{3, tlv(0x02, {0x00, 0x05})}}), "TCB component 3 is not minimal DER"},
      {build(0, fm, {{3, tlv(0x02, {0x01, 0x00})}}), "TCB component 3 256 is more than 255"},
      {build(0, fm, {{17, tlv(0x02, {0x01, 0x00, 0x00})}}), "PCESVN 65536 is more than 65535"},
      {build(0, fm, {{3, tlv(0x04, {0x01})}}), "TCB component 3 is not an INTEGER"},
      {build(0, fm, {}, {}, tlv(0x0a, {0x03})), "SGX type 3 is more than 2"},
      {build(0, fm, {}, {}, tlv(0x02, {0x01})), "SGX type is not ENUMERATED"},
      {build(0, fm, {{3, [&] { Bytes v = tlv(0x02, {0x01}); v.push_back(0x05); v.push_back(0x00); return v; }()}}), "TCB entry has bytes after its value"},
      {build(0, fm, {}, pair(oid({2, 3}), tlv(0x02, {0x01}))), "TCB component 3 appears twice"},
      {build(0, fm, {}, {}, {0x0a, 0x01, 0x01}, 1), "PPID is missing"},
      {build(0, fm, {}, {}, {0x0a, 0x01, 0x01}, 2), "TCB is missing"},
      {build(0, fm, {}, {}, {0x0a, 0x01, 0x01}, 3), "PCE-ID is missing"},
      {build(0, fm, {}, {}, {0x0a, 0x01, 0x01}, 4), "FMSPC is missing"},
      {build(0, fm, {}, {}, {0x0a, 0x01, 0x01}, 5), "SGX type is missing"},
      {build(0, fm, {}, {}, {0x0a, 0x01, 0x01}, 0, pair(oid({4}), tlv(0x04, fm))), "FMSPC appears twice"},
      {build(0, fm, {}, {}, {0x0a, 0x01, 0x01}, 0, [&] { Bytes o = oid({6}); Bytes v = tlv(0x04, {1}); v.push_back(0x05); v.push_back(0x00); return pair(o, v); }()),
       "entry has bytes after its value"},
      {build(0, fm, {}, {}, {0x0a, 0x01, 0x01}, 0, {}, true), "TCB is not a SEQUENCE"},
  };
  test::check_refusals(bad, [](const Bytes& der) { return tdx::parse_pck_extensions(der); });
  // A TCB entry of another arc is skipped, as Intel's profile allows.
  CHECK(tdx::parse_pck_extensions(build(0, fm, {}, pair(oid({2, 40}), tlv(0x05, {})))));
}

TEST_CASE("TDX with Intel's collateral: every dcap case's verdict, TCB status and advisories at its clock") {
  const auto dir = test::require_vectors("tdx");
  const json m = load(dir / "manifest.json");
  const std::map<std::string, std::vector<std::string>> ids = {
      {"crl.root", {"tdx.root_crl"}},
      {"crl.pck", {"tdx.pck_crl"}},
      {"collateral.expired", {"tdx.pck_crl", "tdx.root_crl", "tdx.tcb_info", "tdx.qe_identity"}},
      {"qeidentity.validity", {"tdx.qe_identity"}},
      {"tcbinfo.validity", {"tdx.tcb_info"}},
      {"tcbinfo.fmspc", {"tdx.fmspc"}},
      {"tcb.level", {"tdx.tcb_level"}},
      {"tdx_module.identity", {"tdx.module_identity"}},
      {"pck.validity", {"tdx.pck_validity"}},
      {"pck.chain", {"tdx.pck_chain"}},
      {"qe_report.signature", {"tdx.qe_report_signature"}},
      {"qe_report.data", {"tdx.qe_report_data"}},
      {"quote.signature", {"tdx.quote_signature"}},
  };
  int n = 0;
  for (const auto& c : m["cases"]) {
    if (c["kind"] != "dcap") continue;
    ++n;
    CAPTURE(c["id"].get<std::string>());
    const Bytes data = test::slurp(dir / c["quote"].get<std::string>());
    const verify::TdxCollateral k = collateral(dir / c["collateral"].get<std::string>());
    verify::TdxEvidence e = evidence(data, utc(c["at"]));
    e.collateral = &k;
    e.collateral_required = true;
    if (c["root"] != "ca/intel_sgx_root_ca.pem") {
      auto other = crypto::Certificate::from_pem(test::slurp(dir / c["root"].get<std::string>()));
      REQUIRE(other);
      e.root = std::move(*other);
    }
    auto v = verify::verify_tdx_quote(e);
    const std::string failing = c.value("failing_check", "");
    if (c["expect"] == "accept" || failing == "policy.td_debug") {
      // The DCAP verdict holds; a debug TD is then refused by policy (TD_ATTRIBUTES.DEBUG).
      for (const auto& k2 : v.checks.items()) {
        CAPTURE(k2.id);
        CAPTURE(k2.detail);
        CHECK(k2.outcome == verify::Outcome::kPass);
      }
      REQUIRE(v.passed);
      REQUIRE(v.tcb);
      CHECK(v.tcb->status == c["tcb_status"]);
      std::vector<std::string> advisories = c["advisory_ids"];
      CHECK(v.tcb->advisory_ids == advisories);
      CHECK(v.quote->body.debug() == (failing == "policy.td_debug"));
      continue;
    }
    CHECK_FALSE(v.passed);
    REQUIRE(ids.count(failing));
    const verify::Check* first = nullptr;
    for (const auto& k2 : v.checks.items()) {
      if (k2.outcome == verify::Outcome::kFail) {
        first = &k2;
        break;
      }
    }
    REQUIRE(first);
    CAPTURE(first->detail);
    const auto& allowed = ids.at(failing);
    CHECK(std::find(allowed.begin(), allowed.end(), first->id) != allowed.end());
    // Collateral past its nextUpdate cannot evaluate (exit 3); anything else is a rejection.
    CHECK(v.missing_collateral == (failing == "collateral.expired" || c["id"] == "neg-pck-crl-expired-only" || c["id"] == "trustee-00a06d08-v4-stale-pck-crl"));
  }
  CHECK(n == 20);
}

TEST_CASE("TDX collateral: the signed value is cut out byte for byte, and a changed byte breaks its signature") {
  const auto dir = test::require_vectors("tdx") / "collateral/dcapqvl_b0c06f000000_2025-06-19";
  const Bytes body = test::slurp(dir / "tcb_info.json");
  auto cut = tdx::cut_signed_json(body, "tcbInfo");
  REQUIRE(cut);
  CHECK(cut->value.front() == '{');
  CHECK(cut->value.back() == '}');
  CHECK(std::string(body.begin(), body.end()).find(cut->value) == std::string("{\"tcbInfo\":").size());
  auto t = tdx::parse_tcb_info(cut->value);
  REQUIRE(t);
  CHECK(to_hex(t->fmspc) == "b0c06f000000");
  CHECK(t->evaluation_data_number == 17);
  CHECK(t->levels.size() == 2);
  // One byte of a status changed: the verdict fails on the TCB Info's signature.
  std::string changed(body.begin(), body.end());
  const size_t at = changed.find("OutOfDate");
  REQUIRE(at != std::string::npos);
  changed.replace(at, 9, "UpToDate!");
  const Bytes quote = test::slurp(test::require_vectors("tdx") / "quotes/dcapqvl_b0c06f_v4_sample.dat");
  verify::TdxCollateral k = collateral(dir);
  k.tcb_info = Bytes(changed.begin(), changed.end());
  verify::TdxEvidence e = evidence(quote, utc("2025-07-01T00:00:00Z"));
  e.collateral = &k;
  auto v = verify::verify_tdx_quote(e);
  CHECK_FALSE(v.passed);
  bool sig_failed = false;
  for (const auto& c : v.checks.items()) {
    if (c.id == "tdx.tcb_info" && c.outcome == verify::Outcome::kFail) sig_failed = c.detail.find("signature") != std::string::npos;
  }
  CHECK(sig_failed);
  // Refused: no signature, a repeated key, a missing key, a wrong id.
  CHECK_FALSE(tdx::cut_signed_json(as_bytes(std::string("{\"tcbInfo\":{}}")), "tcbInfo"));
  CHECK_FALSE(tdx::cut_signed_json(as_bytes(std::string("{\"tcbInfo\":{},\"tcbInfo\":{},\"signature\":\"") + std::string(128, '0') + "\"}"), "tcbInfo"));
  CHECK_FALSE(tdx::cut_signed_json(as_bytes(std::string("{\"signature\":\"") + std::string(128, '0') + "\"}"), "tcbInfo"));
  auto sgx = tdx::parse_tcb_info(R"({"id":"SGX","version":3})");
  REQUIRE_FALSE(sgx);
  CHECK(sgx.error().field == "tcbInfo.id");
}

TEST_CASE("TDX collateral: each malformed member of a TCB Info is refused for its reason") {
  const auto dir = test::require_vectors("tdx") / "collateral/dcapqvl_b0c06f000000_2025-06-19";
  auto cut = tdx::cut_signed_json(test::slurp(dir / "tcb_info.json"), "tcbInfo");
  REQUIRE(cut);
  const json genuine = json::parse(cut->value);
  REQUIRE(tdx::parse_tcb_info(genuine.dump()));
  using Change = std::function<void(json&)>;
  const std::vector<std::pair<Change, std::string>> cases = {
      {[](json& j) { j["fmspc"] = "zz0c6f000000"; }, "tcbInfo.fmspc is not 6 bytes of hex"},
      {[](json& j) { j["version"] = 3.5; }, "tcbInfo.version is not an integer in 0..65535"},
      {[](json& j) { j["version"] = 2; }, "tcbInfo.version 2 is not 3"},
      {[](json& j) { j["tcbEvaluationDataNumber"] = -17; }, "tcbEvaluationDataNumber is not an integer"},
      {[](json& j) { j["issueDate"] = "2025-06-19"; }, "is not a UTC time (YYYY-MM-DDTHH:MM:SSZ)"},
      {[](json& j) { j["nextUpdate"] = "2025-07-19T00:00:00Z trailing"; }, "is not a UTC time"},
      {[](json& j) { j["tcbLevels"][0]["tcbStatus"] = 5; }, "tcbStatus is missing or not a string"},
      {[](json& j) { j["tcbLevels"][0]["tcbStatus"] = "Great"; }, "'Great' is not a TCB status"},
      {[](json& j) { j["tcbLevels"][0]["advisoryIDs"] = "INTEL-SA-00837"; }, "advisoryIDs is not an array"},
      {[](json& j) { j["tcbLevels"][0]["advisoryIDs"] = json::array({837}); }, "advisoryIDs holds a value that is not a string"},
      {[](json& j) { j["tcbLevels"][0]["tcb"]["sgxtcbcomponents"].erase(0); }, "sgxtcbcomponents is not 16 components"},
      {[](json& j) { j["tcbLevels"] = json::array(); }, "tcbInfo.tcbLevels is not a non-empty array"},
      {[](json& j) { j["tdxModuleIdentities"] = json::object(); }, "tcbInfo.tdxModuleIdentities is not an array"},
      {[](json& j) { j["tdxModuleIdentities"][0]["tcbLevels"] = json::array(); }, "tdxModuleIdentities[0].tcbLevels is not a non-empty array"},
  };
  test::check_edits_refused(genuine, cases, [](const json& j) { return tdx::parse_tcb_info(j.dump()); });
  CHECK(tdx::parse_tcb_info("[]").error().message.find("tcbInfo is not a JSON object") != std::string::npos);
  CHECK(tdx::cut_signed_json(as_bytes(std::string("[1]")), "tcbInfo").error().message.find("collateral is not a JSON object") != std::string::npos);
}

TEST_CASE("TDX CC event logs replay to the RTMRs upstream derives, and to the quote's own where they belong together") {
  const auto dir = test::require_vectors("tdx");
  const json m = load(dir / "manifest.json");
  int n = 0;
  for (const auto& c : m["cases"]) {
    if (c["kind"] != "ccel_replay") continue;
    ++n;
    CAPTURE(c["id"].get<std::string>());
    auto rtmr = verify::replay_ccel(test::slurp(dir / c["ccel"].get<std::string>()));
    REQUIRE_MESSAGE(rtmr, rtmr.error().message);
    if (c["expect"] == "match") {
      for (size_t i = 0; i < 4; ++i) CHECK(hex((*rtmr)[i]) == c["expected_rtmr"][i]);
    }
    if (c.contains("quote")) {
      auto q = tdx::parse_quote(test::slurp(dir / c["quote"].get<std::string>()));
      REQUIRE(q);
      CHECK((*rtmr == q->body.rtmr) == (c["expect"] == "match"));
      // The mismatch case: the quote's own RTMRs are the ones the manifest records.
      if (c["expect"] == "mismatch") {
        for (size_t i = 0; i < 4; ++i) CHECK(hex(q->body.rtmr[i]) == c["expected_rtmr"][i]);
      }
    }
  }
  CHECK(n == 7);
  // Refused: a log cut inside an event; a log whose events extend MRTD or beyond RTMR3.
  Bytes log = test::slurp(dir / "ccel/trustee/CCEL_data");
  CHECK_FALSE(verify::replay_ccel(ByteView(log).first(300)));
}

TEST_CASE("TCG2 event logs: the Spec ID event and each event header, malformed one field at a time, are refused for their reason") {
  // TCG PC Client Platform Firmware Profile, section 10.4.5 (TCG_EfiSpecIDEvent) and 10.2.2
  // (TCG_PCR_EVENT2), on the genuine CCEL's Spec ID event.
  const Bytes log = test::slurp(test::require_vectors("tdx") / "ccel/trustee/CCEL_data");
  REQUIRE(eventlog::parse_tcg2_log(log));
  const std::uint32_t spec_size = log[28] | log[29] << 8 | log[30] << 16 | static_cast<std::uint32_t>(log[31]) << 24;
  const Bytes spec(log.begin(), log.begin() + 32 + spec_size);
  auto put32 = [](Bytes& b, size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + static_cast<size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
  };
  auto edited = [&](size_t at, std::uint32_t v, int width = 4) {
    Bytes b = spec;
    if (width == 4) put32(b, at, v);
    else b[at] = static_cast<std::uint8_t>(v);
    return b;
  };
  const std::uint16_t first_alg = static_cast<std::uint16_t>(spec[60] | spec[61] << 8);
  auto event = [&](std::uint32_t digests) {  // index 1, type 1, `digests` SHA-384s, no data
    Bytes e(12, 0);
    put32(e, 0, 1);
    put32(e, 4, 1);
    put32(e, 8, digests);
    for (std::uint32_t i = 0; i < digests; ++i) {
      e.push_back(static_cast<std::uint8_t>(first_alg));
      e.push_back(static_cast<std::uint8_t>(first_alg >> 8));
      const std::uint16_t n = static_cast<std::uint16_t>(spec[62] | spec[63] << 8);
      e.insert(e.end(), n, 0xab);
    }
    e.insert(e.end(), 4, 0);
    return e;
  };
  Bytes one_event = spec;
  for (auto b : event(1)) one_event.push_back(b);
  auto parsed = eventlog::parse_tcg2_log(one_event);
  REQUIRE_MESSAGE(parsed, parsed.error().message);
  CHECK(parsed->size() == 1);
  Bytes too_many_digests = spec;
  for (auto b : event(17)) too_many_digests.push_back(b);
  Bytes too_many_events = spec;
  const Bytes tiny = event(0);
  for (size_t i = 0; i <= 65536; ++i) too_many_events.insert(too_many_events.end(), tiny.begin(), tiny.end());
  Bytes unlisted_alg = spec;
  {
    Bytes e = event(1);
    e[12] = 0x04;  // TPM_ALG_SHA1, which this log's Spec ID event does not list
    e[13] = 0x00;
    unlisted_alg.insert(unlisted_alg.end(), e.begin(), e.end());
  }
  Bytes huge_data = spec;
  {
    Bytes e = event(0);
    put32(e, 12, (16u << 20) + 1);
    huge_data.insert(huge_data.end(), e.begin(), e.end());
  }
  const std::vector<std::pair<Bytes, std::string>> cases = {
      {unlisted_alg, "digest of an algorithm the Spec ID event does not list"},
      {huge_data, "event data larger than 16 MiB"},
      {edited(4, 4), "the first event is not the Spec ID event"},
      {edited(32, 'X', 1), "not a crypto-agile (Spec ID Event03) log"},
      {edited(56, 0), "numberOfAlgorithms is not 1..16"},
      {edited(56, 17), "numberOfAlgorithms is not 1..16"},
      {edited(62, 0, 1), "digest size out of range"},
      {edited(62, 65, 1), "digest size out of range"},
      {edited(28, spec_size + 1), "the Spec ID event runs past the end"},
      {too_many_digests, "an event has more digests than the log has algorithms"},
      {too_many_events, "more than 65536 events"},
  };
  test::check_refusals(cases, [](const Bytes& input) { return eventlog::parse_tcg2_log(input); });
  // Replay into registers first_index..first_index+count-1 only, and only with the digest asked for.
  REQUIRE(first_alg == 0x000c);  // TPM_ALG_SHA384, as TDX logs
  eventlog::Event e;
  e.type = 1;
  e.digests[first_alg] = Bytes(48, 0xab);
  for (std::uint32_t index : {0u, 5u}) {
    CAPTURE(index);
    e.index = index;
    auto r = eventlog::replay({e}, first_alg, crypto::DigestAlg::kSha384, 1, 4);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("outside 1..4") != std::string::npos);
  }
  e.index = 2;
  REQUIRE(eventlog::replay({e}, first_alg, crypto::DigestAlg::kSha384, 1, 4));
  e.digests.clear();
  e.digests[0x000b] = Bytes(32, 0xab);  // SHA-256 only
  auto missing = eventlog::replay({e}, first_alg, crypto::DigestAlg::kSha384, 1, 4);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("event 0 has no") != std::string::npos);
}
