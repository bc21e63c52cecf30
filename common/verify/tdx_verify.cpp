// See tdx_verify.h.
#include "verify/tdx_verify.h"

#include <algorithm>

#include "base/hex.h"
#include "crypto/digest.h"
#include "crypto/keys.h"

namespace cci::verify {
namespace {

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

std::string utc(std::time_t t) {
  char buf[32];
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

Bytes pinned_intel_sgx_root_fingerprint() {
  return *from_hex("44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3", "Intel SGX Root CA fingerprint", 32);
}

TdxVerification verify_tdx_quote(const TdxEvidence& ev) {
  TdxVerification v;
  CheckList& c = v.checks;
  auto q = tdx::parse_quote(ev.quote);
  if (!q) {
    c.add("tdx.quote", false, q.error().message);
    return v;
  }
  c.add("tdx.quote", true,
        "version " + std::to_string(q->version) + ", " + tdx::body_type_name(q->body_type) + " body, " + std::to_string(q->signed_bytes.size()) + " signed bytes");
  v.quote = *q;

  // The PCK chain: leaf, CA, root, in that order. The root must be the pinned one.
  auto chain = crypto::parse_pem_bundle(as_bytes(q->pck_chain_pem));
  if (!chain || chain->size() != 3) {
    c.add("tdx.pck_chain", false, chain ? "the PCK chain holds " + std::to_string(chain->size()) + " certificates, not leaf, CA and root" : chain.error().message);
    return v;
  }
  const crypto::Certificate& leaf = (*chain)[0];
  const crypto::Certificate& ca = (*chain)[1];
  const crypto::Certificate& root = (*chain)[2];
  if (root.fingerprint_sha256() != pinned_intel_sgx_root_fingerprint()) {
    c.add("tdx.pck_chain", false, "the chain's root (" + root.subject() + ", SHA-256 " + to_hex(root.fingerprint_sha256()) + ") is not the pinned Intel SGX Root CA");
    return v;
  }
  for (const crypto::Certificate* cert : {&leaf, &ca, &root}) {
    if (ev.at < cert->not_before() || ev.at > cert->not_after()) {
      c.add("tdx.pck_validity", false,
            cert->subject_common_name() + " is valid " + utc(cert->not_before()) + " to " + utc(cert->not_after()) + ", not at " + utc(ev.at));
      return v;
    }
  }
  c.add("tdx.pck_validity", true, "leaf, CA and root valid at " + utc(ev.at));
  const crypto::Certificate anchors[] = {root.clone()};
  const crypto::Certificate intermediates[] = {ca.clone()};
  if (auto st = crypto::verify_chain(leaf, intermediates, anchors, ev.at); !st) {
    c.add("tdx.pck_chain", false, st.error().message);
    return v;
  }
  c.add("tdx.pck_chain", true, leaf.subject_common_name() + " <- " + ca.subject_common_name() + " <- pinned Intel SGX Root CA");
  v.pck_leaf = leaf.clone();
  v.pck_ca = ca.clone();
  v.root = root.clone();

  auto raw_ext = leaf.extension_value(tdx::kOidSgxExtensions);
  if (!raw_ext || !*raw_ext) {
    c.add("tdx.pck_extensions", false, raw_ext ? "the PCK certificate has no SGX extension" : raw_ext.error().message);
    return v;
  }
  auto ext = tdx::parse_pck_extensions(**raw_ext);
  if (!ext) {
    c.add("tdx.pck_extensions", false, ext.error().message);
    return v;
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

  auto att_key = crypto::ec_public_key_from_xy(crypto::KeyType::kEcP256, ByteView(q->attestation_key).first(32), ByteView(q->attestation_key).subspan(32));
  const bool quote_signed = att_key && verify_p256(*att_key, q->signed_bytes, q->signature);
  c.add("tdx.quote_signature", quote_signed,
        quote_signed ? "header and TD report signed by the attestation key" : "the quote's signature over its header and TD report does not verify");
  v.passed = c.all_passed();
  return v;
}

}  // namespace cci::verify
