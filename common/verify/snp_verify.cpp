#include "verify/snp_verify.h"
#include "base/text.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "base/hex.h"
#include "crypto/digest.h"
#include "crypto/keys.h"
#include "crypto/random.h"
#include "verify/verified_once.h"

namespace cci::verify {
namespace {

using snp::Product;

const char* kArkMilan = "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd";
const char* kArkGenoa = "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1";
const char* kArkTurin = "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a";

std::string utc_text(std::time_t t) { return rfc3339_utc(t); }

// AMD signs ARK, ASK/ASVK and VEK certificates with RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48.
bool pss_ok(const crypto::Certificate& c, std::string& why) {
  auto p = c.rsa_pss_params();
  if (!p) {
    why = p.error().message;
    return false;
  }
  if (p->digest != "SHA384" || p->mgf1_digest != "SHA384" || p->salt_length != 48 || p->trailer_field != 1) {
    why = "RSASSA-PSS parameters " + p->digest + "/MGF1-" + p->mgf1_digest + "/salt " + std::to_string(p->salt_length) +
          " are not SHA384/MGF1-SHA384/salt 48";
    return false;
  }
  return true;
}

// (ARK, ASK/ASVK) pairs verified in this process ("cache verified roots and intermediates by
// key"), keyed by the fingerprints of the ARK actually used and of the intermediate.
detail::VerifiedOnce& verified_intermediates() {
  static detail::VerifiedOnce cache;
  return cache;
}

// CRL signatures verified in this process, keyed by ARK fingerprint and CRL hash.
detail::VerifiedOnce& verified_crls() {
  static detail::VerifiedOnce cache;
  return cache;
}

}  // namespace

// The ARK's CRL: AMD revokes intermediates (ASK/ASVK), never VEKs (AMD VCEK specification 57230 §4.3, CRLs). A
// stale CRL (at > nextUpdate) or one without nextUpdate could be a replayed old list.
bool check_snp_crl(CheckList& out, const std::optional<crypto::Crl>& given, bool required, const crypto::Certificate& ark,
                   const crypto::Certificate& ica, std::time_t at) {
  if (!given) {
    if (required) {
      return out.missing("snp.crl", "no CRL for " + ark.subject_common_name() +
                                        ": fetch it (cci-verify fetch) or give --crl, or skip the revocation check with --insecure-no-crl");
    }
    out.skip("snp.crl", "revocation not checked: no CRL given and --insecure-no-crl");
    return true;
  }
  const crypto::Crl& crl = *given;
  if (crl.issuer() != ark.subject()) return out.add("snp.crl", false, "CRL issuer " + crl.issuer() + " is not " + ark.subject());
  auto p = crl.rsa_pss_params();
  if (!p) return out.add("snp.crl", false, "CRL: " + p.error().message);
  if (p->digest != "SHA384" || p->mgf1_digest != "SHA384" || p->salt_length != 48 || p->trailer_field != 1) {
    return out.add("snp.crl", false, "CRL RSASSA-PSS parameters are not SHA384/MGF1-SHA384/salt 48");
  }
  Bytes crl_key = ark.fingerprint_sha256();
  const Bytes crl_hash = crypto::digest(crypto::DigestAlg::kSha256, crl.der());
  crl_key.insert(crl_key.end(), crl_hash.begin(), crl_hash.end());
  if (!verified_crls().contains(crl_key)) {
    if (!crl.signed_by(ark)) return out.add("snp.crl", false, "CRL signature does not verify with " + ark.subject_common_name());
    verified_crls().add(std::move(crl_key));
  }
  if (at < crl.this_update()) {
    return out.add("snp.crl", false, "CRL thisUpdate " + utc_text(crl.this_update()) + " is after " + utc_text(at));
  }
  auto next = crl.next_update();
  if (!next) return out.add("snp.crl", false, "CRL has no nextUpdate: its freshness cannot be judged");
  if (at > *next) {
    return out.add("snp.crl", false, "CRL is stale: nextUpdate " + utc_text(*next) + " is before " + utc_text(at) + " (fetch a new one)");
  }
  if (crl.lists(ica)) return out.add("snp.crl", false, ica.subject_common_name() + " is revoked by " + ark.subject_common_name());
  return out.add("snp.crl", true,
                 ica.subject_common_name() + " not revoked (CRL by " + ark.subject_common_name() + ", " +
                     std::to_string(crl.revoked_count()) + " entries, valid " + utc_text(crl.this_update()) + " to " + utc_text(*next) + ")");
}

namespace {

// Checks that `cert` names `issuer` as its issuer and uses AMD's PSS parameters. The
// signatures themselves are verified once, by the path validation in check_chain.
bool check_issued(CheckList& out, const std::string& id, const crypto::Certificate& cert, const crypto::Certificate& issuer,
                  const std::string& what) {
  std::string why;
  if (!pss_ok(cert, why)) return out.add(id, false, what + ": " + why);
  if (!cert.names_issuer(issuer)) {
    return out.add(id, false, what + ": issuer " + cert.issuer() + " is not " + issuer.subject());
  }
  return out.add(id, true, what + " issued by " + issuer.subject_common_name() + " with RSASSA-PSS SHA-384, MGF1-SHA-384, salt 48");
}

bool check_product(SnpVerification& v, const SnpEvidence& ev) {
  const snp::Report& r = *v.report;
  if (r.cpuid_family) {
    auto p = snp::product_from_cpuid(*r.cpuid_family, *r.cpuid_model);
    char cpuid[48];
    std::snprintf(cpuid, sizeof cpuid, "family 0x%02x model 0x%02x", *r.cpuid_family, *r.cpuid_model);
    if (!p) return v.checks.add("snp.product", false, std::string("signed CPUID ") + cpuid + " is no known SNP product line");
    if (ev.product && *ev.product != *p) {
      return v.checks.add("snp.product", false,
                          std::string("signed CPUID says ") + snp::product_name(*p) + ", --product says " + snp::product_name(*ev.product));
    }
    v.product = p;
    return v.checks.add("snp.product", true, std::string(snp::product_name(*p)) + " from the signed CPUID (" + cpuid + ")");
  }
  if (!ev.product) {
    return v.checks.add("snp.product", false,
                        "a version 2 report carries no CPUID: give the product (Milan, Genoa, Turin); it is never taken "
                        "from the attester's certificates");
  }
  v.product = ev.product;
  return v.checks.add("snp.product", true, std::string(snp::product_name(*ev.product)) + " as given (version 2 report)");
}

const crypto::Certificate* find_pinned_ark(const std::vector<crypto::Certificate>& ca, Product p) {
  Bytes want = pinned_ark_fingerprint(p);
  for (const auto& c : ca) {
    if (crypto::ct_equal(c.fingerprint_sha256(), want)) return &c;
  }
  return nullptr;
}

bool is_simulated(const crypto::Certificate& c) { return c.subject().find("SIMULATED") != std::string::npos; }

// A simulated ARK is usable only when the caller named its fingerprint (and it calls itself
// SIMULATED, so that no real-looking root can enter this way).
const crypto::Certificate* find_simulated_ark(const std::vector<crypto::Certificate>& ca, const std::vector<Bytes>& trusted) {
  for (const auto& c : ca) {
    if (!is_simulated(c)) continue;
    const Bytes fp = c.fingerprint_sha256();
    for (const auto& t : trusted) {
      if (crypto::ct_equal(fp, t)) return &c;
    }
  }
  return nullptr;
}

const crypto::Certificate* find_by_cn(const std::vector<crypto::Certificate>& ca, const std::string& cn) {
  for (const auto& c : ca) {
    if (c.subject_common_name() == cn) return &c;
  }
  return nullptr;
}

// VCEK or VLEK, from SIGNER_INFO.SIGNING_KEY; the leaf certificate must be of that kind.
bool check_leaf_kind(SnpVerification& v, const crypto::Certificate& vek, bool& is_vlek) {
  const auto sk = v.report->signing_key();
  if (sk == snp::SigningKey::kNone) return v.checks.add("snp.signing_key", false, "SIGNING_KEY is 7: the report is not signed");
  is_vlek = sk == snp::SigningKey::kVlek;
  const std::string want = is_vlek ? "SEV-VLEK" : "SEV-VCEK";
  const std::string cn = vek.subject_common_name();
  return v.checks.add("snp.signing_key", cn == want,
                      "SIGNING_KEY says " + std::string(is_vlek ? "VLEK" : "VCEK") + ", leaf certificate CN is " + cn);
}

bool check_chain(SnpVerification& v, const SnpEvidence& ev, const crypto::Certificate& vek, bool is_vlek) {
  const Product p = *v.product;
  const crypto::Certificate* ark = find_pinned_ark(ev.ca, p);
  if (!ark) ark = find_simulated_ark(ev.ca, ev.simulated_roots);
  if (!ark) {
    const bool sim = std::any_of(ev.ca.begin(), ev.ca.end(), [](const crypto::Certificate& c) { return is_simulated(c); });
    return v.checks.add("snp.ark_pinned", false,
                        std::string("none of the given certificates is ARK-") + snp::product_name(p) + " (pinned SHA-256 " +
                            to_hex(pinned_ark_fingerprint(p)) + "); a supplied ARK that is not the pinned one is never trusted" +
                            (sim ? ". The given chain is SIMULATED (cci-run sim): accept it for testing with --trust-sim-root DIR" : ""));
  }
  v.simulated = is_simulated(*ark) || !crypto::ct_equal(ark->fingerprint_sha256(), pinned_ark_fingerprint(p));
  if (v.simulated) {
    v.checks.add("snp.ark_pinned", true,
                 "SIMULATED ARK " + to_hex(ark->fingerprint_sha256()) + " trusted by --trust-sim-root: this is NOT AMD hardware");
  } else {
    v.checks.add("snp.ark_pinned", true, "ARK-" + std::string(snp::product_name(p)) + " matches the fingerprint built into cci");
  }
  const std::string ica_cn = (is_vlek ? "SEV-VLEK-" : "SEV-") + std::string(snp::product_name(p));
  const crypto::Certificate* ica = find_by_cn(ev.ca, ica_cn);
  Bytes pair_key = ark->fingerprint_sha256();  // the ARK actually used (pinned, or a trusted simulated one)
  if (ica) {
    const Bytes f = ica->fingerprint_sha256();
    pair_key.insert(pair_key.end(), f.begin(), f.end());
  }
  const bool known = ica && verified_intermediates().contains(pair_key);
  if (!check_issued(v.checks, "snp.ark_algorithm", *ark, *ark, "ARK")) return false;
  // Path validation does not check a trust anchor's own signature.
  if (known) v.checks.add("snp.ark_self_signature", true, "ARK self-signature (verified earlier in this process)");
  else if (!v.checks.add("snp.ark_self_signature", ark->signed_by(*ark), "ARK self-signature")) return false;
  if (!ica) return v.checks.add("snp.intermediate", false, "no " + ica_cn + " certificate among the given certificates");
  if (!check_issued(v.checks, "snp.intermediate", *ica, *ark, is_vlek ? "ASVK " + ica_cn : "ASK " + ica_cn)) return false;
  if (!check_issued(v.checks, "snp.vek_algorithm", vek, *ica, is_vlek ? "VLEK" : "VCEK")) return false;
  // X.509 path validation at `at`: signatures, validity periods, CA flags, key usages and
  // critical extensions, with the pinned ARK as the only anchor. Once the ARK -> ASK/ASVK
  // step has passed in this process, the intermediate anchors a partial chain and only the
  // ARK's validity at `at` is checked again.
  std::vector<crypto::Certificate> inter, roots;
  (known ? roots : inter).push_back(ica->clone());
  if (!known) roots.push_back(ark->clone());
  auto st = crypto::verify_chain(vek, inter, roots, ev.at, known);
  if (st && known && !ark->valid_at(ev.at)) {
    st = make_error(ErrorCode::kVerificationFailed, "ARK-" + std::string(snp::product_name(p)) + " is not valid at " + utc_text(ev.at));
  }
  if (!v.checks.add("snp.chain", static_cast<bool>(st),
                    st ? "ARK -> " + ica_cn + " -> " + (is_vlek ? "VLEK" : "VCEK") + " signatures verify, all valid at " + utc_text(ev.at)
                       : st.error().message)) {
    return false;
  }
  if (!known) verified_intermediates().add(std::move(pair_key));
  if (!check_snp_crl(v.checks, ev.crl, ev.crl_required, *ark, *ica, ev.at) && !ev.crl) v.missing_collateral = true;  // a failure here does not make later checks meaningless
  return true;
}

bool check_report_signature(SnpVerification& v, const crypto::Certificate& vek) {
  auto key = vek.public_key();
  if (!key || key->type() != crypto::KeyType::kEcP384) {
    return v.checks.add("snp.report_signature", false, "the leaf key is not ECDSA P-384");
  }
  auto der = crypto::ecdsa_le_rs_to_der(ByteView(v.report->sig_r).first(48), ByteView(v.report->sig_s).first(48));
  if (!der) return v.checks.add("snp.report_signature", false, "signature R/S: " + der.error().message);
  crypto::SignOptions o;
  o.digest = crypto::DigestAlg::kSha384;
  auto ok = crypto::verify(*key, v.report->signed_bytes(), *der, o);
  return v.checks.add("snp.report_signature", static_cast<bool>(ok),
                      ok ? "ECDSA P-384/SHA-384 over bytes 0x000-0x29F verifies with the leaf key"
                         : "ECDSA P-384/SHA-384 signature over bytes 0x000-0x29F does not verify with the leaf key");
}

bool check_tcb(SnpVerification& v, const snp::VekExtensions& x) {
  const snp::Tcb t = snp::decode_tcb(v.report->reported_tcb, *v.product);
  std::string diff;
  auto cmp = [&diff](const char* name, std::optional<std::uint8_t> cert, std::uint8_t rep) {
    if (!cert) diff += std::string(diff.empty() ? "" : ", ") + name + " missing in the certificate";
    else if (*cert != rep) diff += std::string(diff.empty() ? "" : ", ") + name + " " + std::to_string(*cert) + " != reported " + std::to_string(rep);
  };
  cmp("blSPL", x.bl, t.bootloader);
  cmp("teeSPL", x.tee, t.tee);
  cmp("snpSPL", x.snp, t.snp);
  cmp("ucodeSPL", x.ucode, t.microcode);
  if (t.fmc) cmp("fmcSPL", x.fmc, *t.fmc);
  else if (x.fmc) diff += std::string(diff.empty() ? "" : ", ") + "fmcSPL present on a non-Turin certificate";
  return v.checks.add("snp.vek_tcb", diff.empty(),
                      diff.empty() ? "certificate TCB equals REPORTED_TCB (" + snp::tcb_text(t) + ")" : diff);
}

bool check_product_name(SnpVerification& v, const snp::VekExtensions& x) {
  auto p = snp::product_from_name(x.product_name);
  return v.checks.add("snp.vek_product", p && *p == *v.product,
                      "certificate productName \"" + x.product_name + "\", product " + snp::product_name(*v.product));
}

bool check_hwid(SnpVerification& v, const snp::VekExtensions& x, bool is_vlek) {
  const snp::Report& r = *v.report;
  if (is_vlek) {
    return v.checks.add("snp.vek_hwid", !x.hw_id, x.hw_id ? "a VLEK must not carry a hardware ID"
                                                          : "VLEK (no chip binding; cspID " + x.csp_id.value_or("absent") + ")");
  }
  if (r.chip_id_masked()) return v.checks.add("snp.vek_hwid", false, "CHIP_ID is masked (all zero): the VCEK cannot be bound to the chip");
  if (!x.hw_id) return v.checks.add("snp.vek_hwid", false, "the VCEK has no hwID extension");
  const size_t n = *v.product == Product::kTurin ? 8 : 64;
  bool rest_zero = std::all_of(r.chip_id.begin() + static_cast<std::ptrdiff_t>(n), r.chip_id.end(), [](std::uint8_t b) { return b == 0; });
  bool ok = x.hw_id->size() == n && crypto::ct_equal(*x.hw_id, ByteView(r.chip_id).first(n)) && rest_zero;
  return v.checks.add("snp.vek_hwid", ok, ok ? "hwID equals CHIP_ID (" + std::to_string(n) + " bytes)"
                                          : "certificate hwID " + to_hex(*x.hw_id) + ", expected CHIP_ID " + to_hex(r.chip_id));
}

bool check_azure_claims(SnpVerification& v, const snp::ReportInput& in) {
  if (in.format != snp::InputFormat::kAzureHcl) return true;
  Bytes want = crypto::digest(crypto::DigestAlg::kSha256, in.azure_runtime_claims);
  want.resize(64, 0);
  bool ok = crypto::ct_equal(want, v.report->report_data);
  return v.checks.add("azure.runtime_claims", ok,
                      ok ? "REPORT_DATA = SHA-256(runtime claims) || zeros" : "REPORT_DATA does not bind the HCL runtime claims");
}

}  // namespace

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::kPass: return "pass";
    case Outcome::kFail: return "fail";
    case Outcome::kSkip: return "skip";
  }
  return "?";
}

Bytes pinned_ark_fingerprint(Product p) {
  const char* hex = p == Product::kMilan ? kArkMilan : p == Product::kGenoa ? kArkGenoa : kArkTurin;
  return *from_hex(hex, "pinned ARK", 32);
}

SnpVerification verify_snp(const SnpEvidence& ev) {
  SnpVerification v;
  auto rep = ev.parsed ? *ev.parsed : snp::parse_report(ev.input.report, ev.parse);
  if (!v.checks.add("snp.report_structure", static_cast<bool>(rep),
                    rep ? "1184 bytes, version " + std::to_string(rep->version) + ", reserved fields zero" : rep.error().message)) {
    return v;
  }
  v.report = std::move(*rep);
  if (!check_product(v, ev)) return v;
  if (!ev.vek) {
    v.missing_collateral = true;
    v.checks.missing("snp.vek", "no VCEK/VLEK certificate: give --vek or --cert-table, or fetch it (cci-verify fetch)");
    return v;
  }
  bool is_vlek = false;
  if (!check_leaf_kind(v, *ev.vek, is_vlek)) return v;
  if (!check_chain(v, ev, *ev.vek, is_vlek)) return v;
  check_report_signature(v, *ev.vek);
  auto ext = snp::parse_vek_extensions([&](const std::string& oid) { return ev.vek->extension_value(oid); });
  if (!v.checks.add("snp.vek_extensions", static_cast<bool>(ext), ext ? "AMD extensions decoded" : ext.error().message)) return v;
  v.vek = *ext;
  check_product_name(v, *ext);
  check_tcb(v, *ext);
  check_hwid(v, *ext, is_vlek);
  check_azure_claims(v, ev.input);
  v.passed = v.checks.all_passed();
  v.missing_collateral = !v.passed && v.checks.only_missing_collateral();
  if (v.passed) v.verified = Verified<snp::Report>(*v.report);
  return v;
}

}  // namespace cci::verify
