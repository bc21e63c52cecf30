#include "attested_identity.h"

#include "crypto/digest.h"

namespace cci::tools::run {
namespace {

// The certificates that came with the evidence, as endorsements (candidates for the verifier).
std::optional<ratls::Endorsements> endorsements_of(const attest::EvidenceFile& e) {
  ratls::Endorsements en;
  en.tag = e.is_snp() ? ratls::kTagSnp : ratls::kTagCsv;
  if (e.is_snp() && e.vek_pem) {
    auto vek = crypto::Certificate::from_pem(as_bytes(*e.vek_pem));
    if (vek) en.items.push_back(vek->der());
    if (e.cert_chain_pem) {
      if (auto chain = crypto::parse_pem_bundle(as_bytes(*e.cert_chain_pem))) {
        for (const auto& c : *chain) en.items.push_back(c.der());
      }
    }
  }
  if (!e.is_snp() && e.hrk) en.items.push_back(*e.hrk);
  if (en.items.empty()) return std::nullopt;
  return en;
}

}  // namespace

ratls::Claims identity_claims(const crypto::PrivateKey& key, ByteView manifest, const std::string& purpose, const std::string& deploy) {
  ratls::Claims claims;
  claims.pubkey_sha256 = crypto::digest(crypto::DigestAlg::kSha256, key.public_key().spki_der());
  claims.manifest_sha256 = crypto::digest(crypto::DigestAlg::kSha256, manifest);
  claims.purpose = purpose;
  if (!deploy.empty()) claims.deploy = deploy;
  return claims;
}

Result<IssuedCertificate> issue_attested_certificate(attest::EvidenceSource& source, const crypto::PrivateKey& key, const ratls::Claims& claims,
                                                     const ratls::AttestedCertSpec& spec) {
  CCI_ASSIGN(claims_cbor, ratls::encode_claims(claims));
  CCI_ASSIGN(ev, source.get_evidence(ratls::report_data_for_claims(claims_cbor)));
  const std::uint64_t tag = ev.file.is_snp() ? ratls::kTagSnp : ratls::kTagCsv;
  CCI_ASSIGN(cert, ratls::make_attested_certificate(key, {tag, ev.file.report, claims_cbor}, endorsements_of(ev.file), spec));
  return IssuedCertificate{std::move(cert), ev.file.tee, ev.file.simulated(), ev.warnings};
}

Result<Bytes> tagged_evidence_for(attest::EvidenceSource& source, ByteView claims_cbor) {
  CCI_ASSIGN(ev, source.get_evidence(ratls::report_data_for_claims(claims_cbor)));
  const std::uint64_t tag = ev.file.is_snp() ? ratls::kTagSnp : ratls::kTagCsv;
  return ratls::encode_tagged_evidence({tag, ev.file.report, Bytes(claims_cbor.begin(), claims_cbor.end())});
}

}  // namespace cci::tools::run
