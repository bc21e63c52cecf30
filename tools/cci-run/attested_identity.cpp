#include "attested_identity.h"

#include "crypto/digest.h"
#include "ratls/evidence_bridge.h"

namespace cci::tools::run {

Result<IssuedCertificate> issue_attested_certificate(attest::EvidenceSource& source, const crypto::PrivateKey& key, const ratls::Claims& claims,
                                                     const ratls::AttestedCertSpec& spec) {
  CCI_ASSIGN(claims_cbor, ratls::encode_claims(claims));
  CCI_ASSIGN(ev, source.get_evidence(ratls::report_data_for_claims(claims_cbor)));
  CCI_ASSIGN(tag, ratls::tag_for_tee(ev.file.tee));
  CCI_ASSIGN(endorsements, ratls::endorsements_of(ev.file));
  CCI_ASSIGN(cert, ratls::make_attested_certificate(key, {tag, ev.file.report, claims_cbor}, endorsements, spec));
  return IssuedCertificate{std::move(cert), ev.file.tee, ev.file.simulated(), ev.warnings};
}

Result<Bytes> tagged_evidence_for(attest::EvidenceSource& source, ByteView claims_cbor) {
  CCI_ASSIGN(ev, source.get_evidence(ratls::report_data_for_claims(claims_cbor)));
  CCI_ASSIGN(tag, ratls::tag_for_tee(ev.file.tee));
  return ratls::encode_tagged_evidence({tag, ev.file.report, Bytes(claims_cbor.begin(), claims_cbor.end())});
}

}  // namespace cci::tools::run
