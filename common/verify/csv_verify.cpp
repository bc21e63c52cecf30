#include "verify/csv_verify.h"

#include <algorithm>

#include "base/hex.h"
#include "crypto/digest.h"
#include "crypto/random.h"
#include "verify/verified_once.h"

namespace cci::verify {
namespace {

using namespace cci::csv;

const char* kHrkSha256 = "296efa97580464aca0ab5eefe42199ee05862182508d1629f29cf4dc175b10cd";

// (HRK, HSK, CEK) triples whose signatures and linkage were verified in this process.
detail::VerifiedOnce& verified_chains() {
  static detail::VerifiedOnce cache;
  return cache;
}

std::string sig_text(const HygonSignature& s) {
  return std::string("usage ") + usage_name(s.usage) + " (0x" + to_hex_u64(s.usage) + "), algo " + std::to_string(s.algo);
}

bool check_sig(CheckList& out, const std::string& id, const HygonPublicKey& signer, ByteView msg, const HygonSignature& sig,
               const std::string& what) {
  auto st = verify_hygon_signature(signer, msg, sig);
  return out.add(id, static_cast<bool>(st),
                 st ? what + ": SM2/SM3 signature verifies (ID " + signer.user_id + ")"
                    : what + ": SM2/SM3 signature does not verify (ID " + signer.user_id + "): " + st.error().message);
}

bool check_hsk(CheckList& out, const CaCert& hrk, const CaCert& hsk) {
  if (hsk.key_usage != kUsageHsk) return out.add("csv.hsk", false, "HSK key_usage 0x" + to_hex_u64(hsk.key_usage) + " is not 0x13");
  if (hsk.certifying_id != hrk.key_id) return out.add("csv.hsk", false, "HSK certifying_id " + to_hex(hsk.certifying_id) + ", expected the HRK's key ID " + to_hex(hrk.key_id));
  if (hsk.pub.curve_id != kCurveSm2) return out.add("csv.hsk", false, "HSK curve_id is not SM2 (3)");
  return check_sig(out, "csv.hsk", hrk.pub, hsk.signed_bytes(), hsk.sig, "HSK " + to_hex(hsk.key_id) + " signed by the HRK");
}

bool check_cek(CheckList& out, const CaCert& hsk, const CsvCert& cek) {
  if (cek.pubkey_usage != kUsageCek || cek.pubkey_algo != kAlgoSm2Sa) {
    return out.add("csv.cek", false, "CEK pubkey usage/algo 0x" + to_hex_u64(cek.pubkey_usage) + "/" + std::to_string(cek.pubkey_algo) +
                                         " are not 0x1004/4");
  }
  if (cek.sid != hsk.key_id) return out.add("csv.cek", false, "CEK sid " + to_hex(cek.sid) + ", expected the HSK's key ID " + to_hex(hsk.key_id));
  if (cek.sig1.usage != kUsageHsk || cek.sig1.algo != kAlgoSm2Sa) return out.add("csv.cek", false, "CEK signature 1 is " + sig_text(cek.sig1) + ", not HSK/4");
  if (cek.sig2.usage != kUsageInvalid) return out.add("csv.cek", false, "CEK signature 2 is " + sig_text(cek.sig2) + ", not INVALID");
  return check_sig(out, "csv.cek", hsk.pub, cek.signed_bytes(), cek.sig1, "CEK signed by the HSK");
}

bool check_pek(CheckList& out, const CsvCert& cek, const CsvCert& pek) {
  if (pek.pubkey_usage != kUsagePek || pek.pubkey_algo != kAlgoSm2Sa) {
    return out.add("csv.pek", false, "PEK pubkey usage/algo 0x" + to_hex_u64(pek.pubkey_usage) + "/" + std::to_string(pek.pubkey_algo) +
                                         " are not 0x1002/4");
  }
  if (pek.sig1.usage != kUsageCek || pek.sig1.algo != kAlgoSm2Sa) return out.add("csv.pek", false, "PEK signature 1 is " + sig_text(pek.sig1) + ", not CEK/4");
  return check_sig(out, "csv.pek", cek.pub, pek.signed_bytes(), pek.sig1, "PEK signed by the CEK");
}

// The envelope's own copies must agree with the report (trustee's serial number is otherwise
// a spoofable claim).
void check_envelope(CheckList& out, const Evidence& ev, const Report& r) {
  if (ev.envelope_pek && ev.format != "trustee-legacy") {
    bool same = crypto::ct_equal(*ev.envelope_pek, r.pek.raw);
    out.add("csv.envelope_pek", same, same ? "cert_chain.pek equals the PEK in the report" : "cert_chain.pek (SHA-256 " + to_hex(crypto::digest(crypto::DigestAlg::kSha256, *ev.envelope_pek)) + ") differs from the PEK in the report (SHA-256 " + to_hex(crypto::digest(crypto::DigestAlg::kSha256, r.pek.raw)) + ")");
  }
  if (ev.envelope_serial && ev.format != "trustee-legacy") {
    bool same = *ev.envelope_serial == r.chip_id;
    out.add("csv.envelope_serial", same, "serial_number \"" + *ev.envelope_serial + "\", report chip_id \"" + r.chip_id + "\"");
  }
}

void check_hmac(CheckList& out, const Report& r) {
  if (r.version == ReportVersion::kV2) {
    out.skip("csv.hmac", "V2 report: no public V2 report confirms the HMAC layout, not checked");
    return;
  }
  if (r.pek_encoding != PekEncoding::kMasked) {
    out.skip("csv.hmac", "the attester unmasked the PEK and chip ID (and zeroed reserved): the HMAC cannot be recomputed");
    return;
  }
  auto mac = crypto::hmac(crypto::DigestAlg::kSm3, r.mnonce, r.hmac_input());
  bool ok = mac && crypto::ct_equal(*mac, r.mac);
  out.add("csv.hmac", ok,
          ok ? "HMAC-SM3(mnonce, PEK || chip_id || reserved) matches (integrity for the guest only: its key is in the report, so it "
               "authenticates nothing to a verifier)"
             : "HMAC-SM3(mnonce, PEK || chip_id || reserved) does not match: the unsigned PEK / chip ID region was altered");
}

void check_report_signature(CheckList& out, const Report& r) {
  if (r.sig_usage != kUsagePek || r.sig_algo != kAlgoSm2Sa) {
    out.add("csv.report_signature", false, "report sig_usage/sig_algo 0x" + to_hex_u64(r.sig_usage) + "/" + std::to_string(r.sig_algo) + " are not PEK/4");
    return;
  }
  const std::string range = r.version == ReportVersion::kV1 ? "0x000-0x0B3 (still masked)" : "0x000-0x3FF";
  check_sig(out, "csv.report_signature", r.pek.pub, r.signed_bytes(), r.sig, "report bytes " + range + " signed by the PEK");
}

struct TrustedChain {
  CaCert hrk, hsk;
  CsvCert cek;
};

// Pinned HRK, its self-signature, HSK, CEK (memoised per process by their bytes).
std::optional<TrustedChain> check_chain(CsvVerification& v, const CsvInputs& in) {
  if (!in.hrk) {
    v.missing_collateral = true;
    v.checks.missing("csv.hrk_pinned", "no HRK certificate: fetch it (cci-verify fetch --vendor hygon) or give --hrk");
    return std::nullopt;
  }
  const Bytes fp = crypto::digest(crypto::DigestAlg::kSha256, *in.hrk);
  const bool marked = has_simulated_marker(*in.hrk);
  const bool sim_trusted = marked && std::any_of(in.simulated_roots.begin(), in.simulated_roots.end(),
                                                 [&fp](const Bytes& t) { return crypto::ct_equal(t, fp); });
  if (crypto::ct_equal(fp, pinned_hrk_fingerprint())) {
    v.checks.add("csv.hrk_pinned", true, "HRK matches the fingerprint built into cci");
  } else if (sim_trusted) {
    v.simulated = true;
    v.checks.add("csv.hrk_pinned", true, "SIMULATED HRK " + to_hex(fp) + " trusted by --trust-sim-root: this is NOT Hygon hardware");
  } else {
    v.checks.add("csv.hrk_pinned", false,
                 "the given HRK (SHA-256 " + to_hex(fp) + ") is not the pinned one (" + kHrkSha256 + ")" +
                     (marked ? ". It is a SIMULATED root (cci-run sim): accept it for testing with --trust-sim-root DIR" : ""));
    return std::nullopt;
  }
  auto hrk = parse_ca_cert(*in.hrk, "HRK");
  if (!hrk) {
    v.checks.add("csv.hrk_self_signature", false, hrk.error().message);
    return std::nullopt;
  }
  if (!in.hsk_cek) {
    v.missing_collateral = true;
    v.checks.missing("csv.hsk", "no HSK/CEK for chip " + (v.report->chip_id.empty() ? std::string("(unknown)") : v.report->chip_id) +
                                       ": fetch them (cci-verify fetch --vendor hygon) or give --hsk-cek; certificates inside the evidence "
                                       "are never used, they would not bind the chip ID");
    return std::nullopt;
  }
  if (in.hsk_cek->size() != kCaCertSize + kCsvCertSize) {
    v.checks.add("csv.hsk", false, "HSK||CEK is " + std::to_string(in.hsk_cek->size()) + " bytes, expected 2916");
    return std::nullopt;
  }
  auto hsk = parse_ca_cert(ByteView(*in.hsk_cek).first(kCaCertSize), "HSK");
  if (!hsk) {
    v.checks.add("csv.hsk", false, hsk.error().message);
    return std::nullopt;
  }
  auto cek = parse_csv_cert(ByteView(*in.hsk_cek).subspan(kCaCertSize), "CEK");
  if (!cek) {
    v.checks.add("csv.cek", false, cek.error().message);
    return std::nullopt;
  }
  Bytes key = fp;
  key.insert(key.end(), in.hsk_cek->begin(), in.hsk_cek->end());
  if (verified_chains().contains(key)) {
    v.checks.add("csv.hrk_self_signature", true, "HRK self-signature (verified earlier in this process)");
    v.checks.add("csv.hsk", true, "HSK " + to_hex(hsk->key_id) + " signed by the HRK (verified earlier in this process)");
    v.checks.add("csv.cek", true, "CEK signed by the HSK (verified earlier in this process)");
  } else {
    if (!check_sig(v.checks, "csv.hrk_self_signature", hrk->pub, hrk->signed_bytes(), hrk->sig, "HRK self-signature")) return std::nullopt;
    if (!check_hsk(v.checks, *hrk, *hsk)) return std::nullopt;
    if (!check_cek(v.checks, *hsk, *cek)) return std::nullopt;
    verified_chains().add(std::move(key));
  }
  return TrustedChain{std::move(*hrk), std::move(*hsk), std::move(*cek)};
}

}  // namespace

Bytes pinned_hrk_fingerprint() { return *from_hex(kHrkSha256, "pinned HRK", 32); }

CsvVerification verify_csv(const CsvInputs& in) {
  CsvVerification v;
  auto rep = in.parsed ? *in.parsed : parse_report(in.evidence.report, in.evidence.version);
  if (!v.checks.add("csv.report_structure", static_cast<bool>(rep),
                    rep ? std::string(rep->version == ReportVersion::kV1 ? "V1" : "V2") + " report (" + in.evidence.format + ", PEK " +
                              pek_encoding_name(rep->pek_encoding) + "), chip " + (rep->chip_id.empty() ? "(none)" : rep->chip_id)
                        : rep.error().message)) {
    return v;
  }
  v.report = std::move(*rep);
  const Report& r = *v.report;
  check_envelope(v.checks, in.evidence, r);
  auto chain = check_chain(v, in);
  if (chain) {
    check_pek(v.checks, chain->cek, r.pek);
    v.checks.add("csv.chip_binding", true, "HSK/CEK from " + in.hsk_cek_source + " for chip " + r.chip_id + " certify this report's PEK");
  } else if (v.missing_collateral) {
    v.checks.skip("csv.pek", "no CEK: the PEK cannot be tied to a Hygon chip");
  }
  check_report_signature(v.checks, r);
  check_hmac(v.checks, r);
  v.passed = v.checks.all_passed() && chain.has_value();
  v.missing_collateral = !v.passed && v.checks.only_missing_collateral();
  if (v.passed) v.verified = Verified<Report>(*v.report);
  return v;
}

}  // namespace cci::verify
