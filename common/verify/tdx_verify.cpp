// See tdx_verify.h.
#include "verify/tdx_verify.h"
#include "base/text.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <functional>
#include <string_view>
#include <type_traits>
#include <unordered_map>

#include "base/hex.h"
#include "crypto/digest.h"
#include "crypto/keys.h"
#include "eventlog/tcg2.h"
#include "verify/verified_once.h"

namespace cci::verify {
namespace {

// A PEM chain, and whether its text is exactly its certificates' PEM and nothing else: a chain
// with other bytes around or between its blocks is not what Intel's tools write.
struct ParsedChain {
  std::vector<crypto::Certificate> certs;
  bool exact = false;
  ParsedChain clone() const {
    ParsedChain c;
    for (const auto& x : certs) c.certs.push_back(x.clone());
    c.exact = exact;
    return c;
  }
};

// Signature checks that passed, by the exact bytes involved (collateral signatures, the TCB
// Signing certificate and the PCK CA under the root): a long-running verifier checks Intel's
// collateral once, while every time-dependent check (validity periods, CRL windows) is made on
// every call. The PCK leaf, the QE report and the quote are checked every time.
detail::VerifiedOnce& verified_once() {
  static detail::VerifiedOnce memo;
  return memo;
}

// The key is the parts themselves, length-prefixed (no ambiguity), not a digest of them: a few
// kilobytes compared byte for byte cost less than hashing them on every call.
Bytes memo_key(std::initializer_list<ByteView> parts) {
  size_t total = 0;
  for (ByteView p : parts) total += 8 + p.size();
  Bytes all;
  all.reserve(total);
  for (ByteView p : parts) {
    const std::uint64_t n = p.size();
    for (int i = 0; i < 8; ++i) all.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
    all.insert(all.end(), p.begin(), p.end());
  }
  return all;
}
// `check` once per distinct key, in this process.
template <class F>
bool once(const Bytes& key, F&& check) {
  if (verified_once().contains(key)) return true;
  if (!check()) return false;
  verified_once().add(key);
  return true;
}

// Collateral parsed before, by its exact bytes: decoding a certificate's public key is most of an
// appraisal's cost in OpenSSL 3.0, and a verifier sees the same chains, CRLs and JSON again and
// again (Intel's issuer chains and CRLs; one platform's PCK chain in every quote it makes). The
// parsed objects are immutable; every check on them is still made on every call.
template <class T>
class ParsedOnce {
 public:
  template <class Parse>
  Result<T> get(ByteView bytes, Parse&& parse) {
    const std::string_view key(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto it = items_.find(key); it != items_.end()) return copy(it->second);
    }
    CCI_ASSIGN(value, parse(bytes));
    std::lock_guard<std::mutex> lock(mu_);
    if (items_.size() >= 64) items_.clear();  // a bound, not an eviction policy
    items_.emplace(std::string(key), copy(value));
    return value;
  }

 private:
  static T copy(const T& v) {
    if constexpr (std::is_same_v<T, crypto::Crl> || std::is_same_v<T, ParsedChain> || std::is_same_v<T, crypto::PublicKey>) return v.clone();
    else return v;
  }
  // Keyed by the exact bytes (found by a fast hash, then compared in full): no digest per call.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::mutex mu_;
  std::unordered_map<std::string, T, Hash, std::equal_to<>> items_;
};
Result<ParsedChain> parse_chain(const std::string& pem) {
  static ParsedOnce<ParsedChain> memo;
  return memo.get(as_bytes(pem), [](ByteView text) -> Result<ParsedChain> {
    CCI_ASSIGN(certs, crypto::parse_pem_bundle(text));
    ParsedChain c;
    std::string canonical;
    for (const auto& cert : certs) canonical += cert.pem();
    c.exact = std::string(text.begin(), text.end()) == canonical;
    c.certs = std::move(certs);
    return c;
  });
}

Result<crypto::Crl> parse_crl(ByteView der) {
  static ParsedOnce<crypto::Crl> memo;
  return memo.get(der, [](ByteView b) { return crypto::Crl::parse(b); });
}

Result<tdx::SignedJson> cut_signed_json_once(ByteView body, const std::string& key) {
  static ParsedOnce<tdx::SignedJson> memo;
  Bytes tagged(key.begin(), key.end());
  tagged.push_back(0);
  tagged.insert(tagged.end(), body.begin(), body.end());
  return memo.get(tagged, [&](ByteView) { return tdx::cut_signed_json(body, key); });
}

// The attestation key of a QE: the same in every quote the QE makes until it restarts.
Result<crypto::PublicKey> attestation_key(const std::array<std::uint8_t, 64>& xy) {
  static ParsedOnce<crypto::PublicKey> memo;
  return memo.get(xy, [](ByteView b) { return crypto::ec_public_key_from_xy(crypto::KeyType::kEcP256, b.first(32), b.subspan(32)); });
}

Result<tdx::TcbInfo> parse_tcb_info_once(const std::string& value) {
  static ParsedOnce<tdx::TcbInfo> memo;
  return memo.get(as_bytes(value), [](ByteView b) { return tdx::parse_tcb_info(std::string(b.begin(), b.end())); });
}

Result<tdx::QeIdentity> parse_qe_identity_once(const std::string& value) {
  static ParsedOnce<tdx::QeIdentity> memo;
  return memo.get(as_bytes(value), [](ByteView b) { return tdx::parse_qe_identity(std::string(b.begin(), b.end())); });
}

// r || s, big-endian, 32 bytes each, as a DER ECDSA-Sig-Value.
Result<Bytes> rs_be_to_der(ByteView rs) {
  Bytes r(rs.begin(), rs.begin() + 32), s(rs.begin() + 32, rs.end());
  std::reverse(r.begin(), r.end());
  std::reverse(s.begin(), s.end());
  return crypto::ecdsa_le_rs_to_der(r, s);
}

Status verify_p256(const crypto::PublicKey& key, ByteView msg, ByteView rs) {
  CCI_ASSIGN(der, rs_be_to_der(rs));
  crypto::SignOptions o;
  o.digest = crypto::DigestAlg::kSha256;
  return crypto::verify(key, msg, der, o);
}

std::string utc(std::time_t t) { return rfc3339_utc(t); }

// The collateral's own checks: CRLs first, then TCB Info and QE Identity.
struct Collateral {
  std::optional<crypto::Crl> root_crl, pck_crl;
  tdx::TcbInfo tcb;
  tdx::QeIdentity qe;
};

bool crl_current(CheckList& c, const std::string& id, const Result<crypto::Crl>& crl, const crypto::Certificate& issuer, std::time_t at,
                 const std::string& what) {
  if (!crl) return c.add(id, false, what + ": " + crl.error().message);
  const Bytes issuer_der = issuer.der();
  if (!once(memo_key({as_bytes("crl"), crl->der(), issuer_der}), [&] { return crl->signed_by(issuer); })) {
    return c.add(id, false, what + " is not signed by " + issuer.subject_common_name());
  }
  const auto next = crl->next_update();
  if (!next || at < crl->this_update() || at > *next) {
    const std::string why = what + " is current " + utc(crl->this_update()) + " to " + (next ? utc(*next) : std::string("(no nextUpdate)")) + ", not at " + utc(at);
    // Past nextUpdate: a newer CRL is needed to evaluate, which is not a forged one.
    if (next && at > *next) return c.missing(id, why + ": fetch current collateral");
    return c.add(id, false, why);
  }
  return c.add(id, true, what + " signed by " + issuer.subject_common_name() + ", current until " + utc(*next));
}

// TCB Info or QE Identity: the signing chain to the anchor (valid at `at`, the signing
// certificate not in the root CRL), the signature over the exact bytes, the validity window.
bool signed_collateral(CheckList& c, const std::string& id, const std::string& what, ByteView body, const std::string& key, const std::string& chain_pem,
                       const crypto::Certificate& anchor, const crypto::Crl& root_crl, std::time_t at, tdx::SignedJson& out) {
  auto cut = cut_signed_json_once(body, key);
  if (!cut) return c.add(id, false, cut.error().message);
  auto parsed = parse_chain(chain_pem);
  if (!parsed) return c.add(id, false, what + " issuer chain: " + parsed.error().message);
  const std::vector<crypto::Certificate>* chain = &parsed->certs;
  // Exactly the TCB Signing certificate and the pinned root, nothing else.
  if (chain->size() != 2 || (*chain)[1].der() != anchor.der() || !parsed->exact) {
    return c.add(id, false, what + " issuer chain is not the TCB Signing certificate followed by the pinned root, in PEM and nothing else");
  }
  const crypto::Certificate& signer = (*chain)[0];
  if (!signer.valid_at(at) || !anchor.valid_at(at)) {
    return c.add(id, false, what + " signer " + signer.subject_common_name() + " or the root is not valid at " + utc(at));
  }
  const Bytes signer_der = signer.der(), anchor_der = anchor.der();
  std::string chain_error;
  const bool chained = once(memo_key({as_bytes("tcb-signing"), signer_der, anchor_der}), [&] {
    const crypto::Certificate anchors[] = {anchor.clone()};
    auto st = crypto::verify_chain(signer, {}, anchors, at);
    if (!st) chain_error = st.error().message;
    return static_cast<bool>(st);
  });
  if (!chained) return c.add(id, false, what + " signer: " + chain_error);
  if (root_crl.lists(signer)) return c.add(id, false, what + " signer " + signer.subject_common_name() + " is revoked by the root CA CRL");
  auto key_pub = signer.public_key();
  const bool signed_ok = once(memo_key({as_bytes("collateral"), as_bytes(cut->value), cut->signature, signer_der}),
                              [&] { return key_pub && static_cast<bool>(verify_p256(*key_pub, as_bytes(cut->value), cut->signature)); });
  if (!signed_ok) {
    return c.add(id, false, what + "'s signature does not verify with " + signer.subject_common_name() + " over its exact bytes");
  }
  out = std::move(*cut);
  return true;
}

bool within(CheckList& c, const std::string& id, const std::string& what, std::time_t issue, std::time_t next, std::time_t at) {
  const std::string why = what + " is valid " + utc(issue) + " to " + utc(next) + ", not at " + utc(at);
  if (at > next) return c.missing(id, why + ": fetch current collateral");
  if (at < issue) return c.add(id, false, why);
  return true;
}

bool status_is(const std::string& s, std::initializer_list<const char*> any) {
  for (const char* a : any) {
    if (s == a) return true;
  }
  return false;
}

// Intel's rule for folding a module or QE status into the TDX level's.
std::string fold(const std::string& base, const std::string& other) {
  if (other == "Revoked") return "Revoked";
  if (other == "OutOfDate") {
    if (status_is(base, {"UpToDate", "SWHardeningNeeded"})) return "OutOfDate";
    if (status_is(base, {"ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded"})) return "OutOfDateConfigurationNeeded";
  }
  return base;
}

void add_ids(std::vector<std::string>& to, const std::vector<std::string>& ids) {
  for (const auto& id : ids) {
    if (std::find(to.begin(), to.end(), id) == to.end()) to.push_back(id);
  }
}

template <size_t N>
bool masked_equal(const std::array<std::uint8_t, N>& value, const std::array<std::uint8_t, N>& mask, const std::array<std::uint8_t, N>& expected) {
  for (size_t i = 0; i < N; ++i) {
    if ((value[i] & mask[i]) != expected[i]) return false;
  }
  return true;
}

}  // namespace

Bytes pinned_intel_sgx_root_fingerprint() {
  return *from_hex("44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3", "Intel SGX Root CA fingerprint", 32);
}

namespace {

void run_tdx_checks(const TdxEvidence& ev, TdxVerification& v) {
  CheckList& c = v.checks;
  auto q = tdx::parse_quote(ev.quote);
  if (!q) {
    c.add("tdx.quote", false, q.error().message);
    return;
  }
  c.add("tdx.quote", true,
        "version " + std::to_string(q->version) + ", " + tdx::body_type_name(q->body_type) + " body, " + std::to_string(q->signed_bytes.size()) + " signed bytes");
  v.quote = *q;

  // The PCK chain as the quote carries it: leaf, CA, root (checked below).
  auto parsed = parse_chain(q->pck_chain_pem);
  if (!parsed || parsed->certs.size() != 3) {
    c.add("tdx.pck_chain", false,
          parsed ? "the PCK chain holds " + std::to_string(parsed->certs.size()) + " certificates, not leaf, CA and root" : parsed.error().message);
    return;
  }
  const std::vector<crypto::Certificate>* chain = &parsed->certs;
  if (!parsed->exact) {
    c.add("tdx.pck_chain", false, "the PCK chain is not exactly three PEM certificates (other bytes around or between them)");
    return;
  }
  const crypto::Certificate& leaf = (*chain)[0];
  const crypto::Certificate& ca = (*chain)[1];
  const crypto::Certificate& root = (*chain)[2];
  // The anchor: the pinned Intel SGX Root CA (the quote's own root is used only when it is
  // byte for byte the pinned one), or the root a test names.
  std::optional<crypto::Certificate> anchor;
  std::string signer = "Intel", anchor_name = "pinned Intel SGX Root CA";
  if (ev.root) {
    anchor = ev.root->clone();
  } else if (root.fingerprint_sha256() == pinned_intel_sgx_root_fingerprint()) {
    anchor = root.clone();
  } else {
    // A simulated root the user trusts by name (cci-run sim init), byte for byte.
    for (const auto& s : ev.simulated_roots) {
      if (s.der() != root.der()) continue;
      anchor = root.clone();
      v.simulated = true;
      signer = "the SIMULATED root";
      anchor_name = "SIMULATED root (--trust-sim-root)";
    }
  }

  Collateral col;
  if (!ev.collateral && ev.collateral_required) c.missing("tdx.collateral", "no Intel collateral (TCB Info, QE Identity, CRLs) for this quote's FMSPC");
  if (ev.collateral && anchor) {
    const TdxCollateral& k = *ev.collateral;
    auto root_crl = parse_crl(k.root_ca_crl);
    if (!crl_current(c, "tdx.root_crl", root_crl, *anchor, ev.at, "the root CA CRL")) return;
    col.root_crl = root_crl->clone();
    auto pck_crl = parse_crl(k.pck_crl);
    if (!crl_current(c, "tdx.pck_crl", pck_crl, ca, ev.at, "the PCK CRL")) return;
    col.pck_crl = pck_crl->clone();
    tdx::SignedJson tcb_json, qe_json;
    if (!signed_collateral(c, "tdx.tcb_info", "TCB Info", k.tcb_info, "tcbInfo", k.tcb_info_issuer_chain_pem, *anchor, *col.root_crl, ev.at, tcb_json)) return;
    auto tcb = parse_tcb_info_once(tcb_json.value);
    if (!tcb) {
      c.add("tdx.tcb_info", false, tcb.error().message);
      return;
    }
    if (!within(c, "tdx.tcb_info", "TCB Info", tcb->issue_date, tcb->next_update, ev.at)) return;
    c.add("tdx.tcb_info", true, "TCB Info for FMSPC " + to_hex(tcb->fmspc) + " signed by " + signer + ", evaluation data number " +
                                    std::to_string(tcb->evaluation_data_number) + ", issued " + utc(tcb->issue_date) + ", next update " + utc(tcb->next_update));
    col.tcb = std::move(*tcb);
    if (!signed_collateral(c, "tdx.qe_identity", "QE Identity", k.qe_identity, "enclaveIdentity", k.qe_identity_issuer_chain_pem, *anchor, *col.root_crl, ev.at,
                           qe_json)) {
      return;
    }
    auto qe = parse_qe_identity_once(qe_json.value);
    if (!qe) {
      c.add("tdx.qe_identity", false, qe.error().message);
      return;
    }
    if (!within(c, "tdx.qe_identity", "QE Identity", qe->issue_date, qe->next_update, ev.at)) return;
    c.add("tdx.qe_identity", true, "QE Identity signed by " + signer + ", issued " + utc(qe->issue_date) + ", next update " + utc(qe->next_update));
    col.qe = std::move(*qe);
  }

  if (!anchor) {
    c.add("tdx.pck_chain", false, "the chain's root (" + root.subject() + ", SHA-256 " + to_hex(root.fingerprint_sha256()) + ") is not the pinned Intel SGX Root CA" +
                                     (root.subject().find("SIMULATED") != std::string::npos
                                          ? " (it is a simulator's: trust it by name with --trust-sim-root DIR)"
                                          : std::string()));
    return;
  }
  for (const crypto::Certificate* cert : {&leaf, &ca, &root}) {
    if (ev.at < cert->not_before() || ev.at > cert->not_after()) {
      c.add("tdx.pck_validity", false,
            cert->subject_common_name() + " is valid " + utc(cert->not_before()) + " to " + utc(cert->not_after()) + ", not at " + utc(ev.at));
      return;
    }
  }
  c.add("tdx.pck_validity", true, "leaf, CA and root valid at " + utc(ev.at));
  if (root.der() != anchor->der()) {
    c.add("tdx.pck_chain", false, "the chain's root (" + root.subject() + ") is not the anchor");
    return;
  }
  // The PCK CA under the root once per process; the leaf under that CA every time.
  std::string chain_error;
  const bool ca_ok = once(memo_key({as_bytes("pck-ca"), ca.der(), anchor->der()}), [&] {
    const crypto::Certificate anchors[] = {anchor->clone()};
    auto st = crypto::verify_chain(ca, {}, anchors, ev.at);
    if (!st) chain_error = st.error().message;
    return static_cast<bool>(st);
  });
  if (!ca_ok) {
    c.add("tdx.pck_chain", false, chain_error);
    return;
  }
  const crypto::Certificate ca_anchor[] = {ca.clone()};
  if (auto st = crypto::verify_chain(leaf, {}, ca_anchor, ev.at, true); !st) {
    c.add("tdx.pck_chain", false, st.error().message);
    return;
  }
  c.add("tdx.pck_chain", true, leaf.subject_common_name() + " <- " + ca.subject_common_name() + " <- " + anchor_name);
  v.pck_leaf = leaf.clone();
  v.pck_ca = ca.clone();
  v.root = root.clone();
  if (ev.collateral) {
    if (col.pck_crl->lists(leaf)) {
      c.add("tdx.pck_revocation", false, "the PCK certificate is revoked by the PCK CRL");
      return;
    }
    if (col.root_crl->lists(ca)) {
      c.add("tdx.pck_revocation", false, "the PCK CA is revoked by the root CA CRL");
      return;
    }
    c.add("tdx.pck_revocation", true, "neither the PCK certificate nor its CA is revoked");
  }

  auto raw_ext = leaf.extension_value(tdx::kOidSgxExtensions);
  if (!raw_ext || !*raw_ext) {
    c.add("tdx.pck_extensions", false, raw_ext ? "the PCK certificate has no SGX extension" : raw_ext.error().message);
    return;
  }
  auto ext = tdx::parse_pck_extensions(**raw_ext);
  if (!ext) {
    c.add("tdx.pck_extensions", false, ext.error().message);
    return;
  }
  c.add("tdx.pck_extensions", true, "FMSPC " + to_hex(ext->fmspc) + ", PCE-ID " + to_hex(ext->pceid) + ", PCESVN " + std::to_string(ext->pcesvn));
  v.pck = *ext;

  auto leaf_key = leaf.public_key();
  const bool qe_signed = leaf_key && verify_p256(*leaf_key, q->qe_report.raw, q->qe_report_signature);
  c.add("tdx.qe_report_signature", qe_signed, qe_signed ? "the QE report is signed by the PCK key" : "the QE report's signature does not verify with the PCK key");

  Bytes bound(q->attestation_key.begin(), q->attestation_key.end());
  bound.insert(bound.end(), q->qe_auth_data.begin(), q->qe_auth_data.end());
  Bytes expected = crypto::digest(crypto::DigestAlg::kSha256, bound);
  expected.resize(64, 0);
  const bool bound_ok = std::equal(expected.begin(), expected.end(), q->qe_report.report_data.begin());
  c.add("tdx.qe_report_data", bound_ok,
        bound_ok ? "QE REPORT_DATA = SHA-256(attestation key || QE authentication data) || 0"
                 : "QE REPORT_DATA is not SHA-256(attestation key || QE authentication data) || 0: the attestation key is not the QE's");

  const tdx::ModuleLevel* qe_level = nullptr;
  if (ev.collateral && qe_signed) {
    const tdx::QeIdentity& id = col.qe;
    const tdx::QeReport& r = q->qe_report;
    std::string why;
    if (r.mr_signer != id.mrsigner) why = "MRSIGNER " + to_hex(r.mr_signer) + " is not " + to_hex(id.mrsigner);
    else if (r.isv_prod_id != id.isvprodid) why = "ISVPRODID " + std::to_string(r.isv_prod_id) + " is not " + std::to_string(id.isvprodid);
    else if ((r.misc_select & id.miscselect_mask) != id.miscselect) why = "masked MISCSELECT differs";
    else if (!masked_equal(r.attributes, id.attributes_mask, id.attributes)) why = "masked ATTRIBUTES differ";
    for (const auto& l : id.levels) {
      if (why.empty() && l.isvsvn <= r.isv_svn) {
        qe_level = &l;
        break;
      }
    }
    if (why.empty() && !qe_level) why = "ISVSVN " + std::to_string(r.isv_svn) + " is below every QE TCB level";
    if (!why.empty()) {
      c.add("tdx.qe_identity_match", false, "the QE is not Intel's TDX QE: " + why);
      return;
    }
    c.add("tdx.qe_identity_match", true, "the QE is Intel's TD_QE, ISVSVN " + std::to_string(r.isv_svn) + ": " + qe_level->status.status);
  }

  auto att_key = attestation_key(q->attestation_key);
  const bool quote_signed = att_key && verify_p256(*att_key, q->signed_bytes, q->signature);
  c.add("tdx.quote_signature", quote_signed,
        quote_signed ? "header and TD report signed by the attestation key" : "the quote's signature over its header and TD report does not verify");

  if (ev.azure_hcl_runtime_data) {
    // Azure's HCL runtime data (the vTPM's attestation key, the VM configuration) is the TD's
    // only if the quote binds it: REPORT_DATA = SHA-256(variable data) || 0^32.
    Bytes want = crypto::digest(crypto::DigestAlg::kSha256, *ev.azure_hcl_runtime_data);
    want.resize(64, 0);
    const bool hcl_bound = std::equal(want.begin(), want.end(), q->body.report_data.begin());
    c.add("tdx.azure_hcl_binding", hcl_bound,
          hcl_bound ? "REPORT_DATA = SHA-256(the HCL report's runtime data) || 0: the quote binds Azure's HCL claims"
                : "REPORT_DATA is not SHA-256(the HCL report's runtime data) || 0: this HCL report is not this TD's");
  }

  if (ev.collateral && c.all_passed()) {
    const tdx::TcbInfo& t = col.tcb;
    if (t.fmspc != ext->fmspc || t.pceid != ext->pceid) {
      c.add("tdx.fmspc", false,
            "the PCK's FMSPC " + to_hex(ext->fmspc) + " / PCE-ID " + to_hex(ext->pceid) + " is not TCB Info's " + to_hex(t.fmspc) + " / " + to_hex(t.pceid));
      return;
    }
    c.add("tdx.fmspc", true, "FMSPC " + to_hex(t.fmspc) + " and PCE-ID " + to_hex(t.pceid) + " as TCB Info's");
    const auto& svn = q->body.tee_tcb_svn;
    const size_t tdx_from = svn[1] > 0 ? 2 : 0;
    const tdx::TdxTcbLevel* level = nullptr;
    for (const auto& l : t.levels) {
      bool ok = l.pcesvn <= ext->pcesvn;
      for (size_t i = 0; ok && i < 16; ++i) ok = l.sgx_components[i] <= ext->cpusvn[i];
      for (size_t i = tdx_from; ok && i < 16; ++i) ok = l.tdx_components[i] <= svn[i];
      if (ok) {
        level = &l;
        break;
      }
    }
    if (!level) {
      c.add("tdx.tcb_level", false,
            "no TCB level of TCB Info matches the PCK's CPUSVN " + to_hex(ext->cpusvn) + ", PCESVN " + std::to_string(ext->pcesvn) + " and TEE_TCB_SVN " + to_hex(svn) +
                " (TCB not supported)");
      return;
    }
    TdxTcbVerdict verdict;
    verdict.tdx_status = level->status.status;
    verdict.tcb_date = level->status.date;
    verdict.evaluation_data_number = t.evaluation_data_number;
    verdict.tcb_info_issue = t.issue_date;
    verdict.tcb_info_next_update = t.next_update;
    add_ids(verdict.advisory_ids, level->status.advisory_ids);
    c.add("tdx.tcb_level", true, "TCB level of " + level->status.date + ": " + level->status.status);
    // The TDX module: by identity when TEE_TCB_SVN[1] names a major version, else tdxModule.
    std::string status = level->status.status;
    if (svn[1] > 0) {
      char want[8];
      std::snprintf(want, sizeof want, "TDX_%02X", svn[1]);
      const tdx::ModuleIdentity* m = nullptr;
      for (const auto& mi : t.module_identities) {
        if (mi.id == want) m = &mi;
      }
      if (!m) {
        c.add("tdx.module_identity", false, std::string("TCB Info has no TDX module identity ") + want);
        return;
      }
      if (q->body.mr_signer_seam != m->mrsigner || !masked_equal(q->body.seam_attributes, m->attributes_mask, m->attributes)) {
        c.add("tdx.module_identity", false, std::string("MRSIGNERSEAM or SEAMATTRIBUTES are not those of ") + want);
        return;
      }
      const tdx::ModuleLevel* ml = nullptr;
      for (const auto& l : m->levels) {
        if (l.isvsvn <= svn[0]) {
          ml = &l;
          break;
        }
      }
      if (!ml) {
        c.add("tdx.module_identity", false, std::string("the module's ISVSVN ") + std::to_string(svn[0]) + " is below every level of " + want);
        return;
      }
      verdict.module_status = ml->status.status;
      add_ids(verdict.advisory_ids, ml->status.advisory_ids);
      status = fold(status, ml->status.status);
      c.add("tdx.module_identity", true, std::string(want) + ", ISVSVN " + std::to_string(svn[0]) + ": " + ml->status.status);
    } else {
      if (q->body.mr_signer_seam != t.module.mrsigner || !masked_equal(q->body.seam_attributes, t.module.attributes_mask, t.module.attributes)) {
        c.add("tdx.module_identity", false, "MRSIGNERSEAM or SEAMATTRIBUTES are not TCB Info's tdxModule");
        return;
      }
      c.add("tdx.module_identity", true, "the TDX 1.0 module (tdxModule)");
    }
    verdict.qe_status = qe_level->status.status;
    add_ids(verdict.advisory_ids, qe_level->status.advisory_ids);
    verdict.status = fold(status, qe_level->status.status);
    v.tcb = std::move(verdict);
  }
  v.complete = true;
}

}  // namespace

TdxVerification verify_tdx_quote(const TdxEvidence& ev) {
  TdxVerification v;
  run_tdx_checks(ev, v);
  // Passed only when every check ran (an early return always follows a failure; this makes sure).
  v.passed = v.complete && v.checks.all_passed();
  if (v.passed) v.verified = Verified<tdx::Quote>(*v.quote);
  v.missing_collateral = v.checks.only_missing_collateral();
  return v;
}

std::optional<std::string> tdx_pck_fmspc(ByteView quote) {
  auto q = tdx::parse_quote(quote);
  if (!q) return std::nullopt;
  auto chain = parse_chain(q->pck_chain_pem);
  if (!chain || chain->certs.empty()) return std::nullopt;
  auto ext = chain->certs[0].extension_value(tdx::kOidSgxExtensions);
  if (!ext || !*ext) return std::nullopt;
  auto pck = tdx::parse_pck_extensions(**ext);
  if (!pck) return std::nullopt;
  return to_hex(pck->fmspc);
}

std::optional<crypto::Certificate> tdx_pck_chain_root(ByteView quote) {
  auto q = tdx::parse_quote(quote);
  if (!q) return std::nullopt;
  auto chain = parse_chain(q->pck_chain_pem);
  if (!chain || chain->certs.empty()) return std::nullopt;
  return chain->certs.back().clone();
}

Result<std::array<tdx::Hash48, 4>> replay_ccel(ByteView log) {
  CCI_ASSIGN(events, eventlog::parse_tcg2_log(log));
  CCI_ASSIGN(regs, eventlog::replay(events, eventlog::kTpmAlgSha384, crypto::DigestAlg::kSha384, 1, 4));
  std::array<tdx::Hash48, 4> out{};
  for (size_t i = 0; i < out.size(); ++i) std::copy(regs[i].begin(), regs[i].end(), out[i].begin());
  return out;
}

}  // namespace cci::verify
