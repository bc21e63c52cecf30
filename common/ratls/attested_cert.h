// Attested TLS certificates ("cci RA-TLS v1", docs/architecture.md "Attested TLS"; TCG DICE Attestation Architecture for the extension OIDs): a self-signed
// end-entity certificate for a key made in the CVM, carrying
//   2.23.133.5.4.9 (TCG DICE tagged evidence): CBOR tag(T)([bstr evidence, bstr claims])
//       T = 0x1a7504 SEV-SNP (evidence: the raw report) | 0x1a7506 CSV (the 4096-byte report page)
//         | 60000 Intel TEE quote (TDX: the quote v4/v5, its PCK chain inside) — the evidence tags
//         of the Interoperable RA-TLS certificate format (CCC Attestation SIG)
//   2.23.133.5.4.2 (endorsements, optional): CBOR tag(T)([bstr cert, ...]): SNP VCEK, ASK, ARK (DER);
//       CSV HSK||CEK, HRK (Hygon binary) — candidates only; the verifier checks them against its pins.
//       TDX has none: the quote carries its chain, Intel's collateral comes from the verifier's side.
// The claims bind the certificate's key (pubkey-hash = SHA-256 of its SubjectPublicKeyInfo), the
// manifest and the purpose; the report binds the claims (REPORT_DATA = SHA-256(claims) || 0^32).
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "crypto/keys.h"
#include "crypto/x509.h"
#include "ratls/claims.h"

namespace cci::ratls {

inline constexpr char kOidTaggedEvidence[] = "2.23.133.5.4.9";
inline constexpr char kOidEndorsements[] = "2.23.133.5.4.2";
inline constexpr std::uint64_t kTagSnp = 0x1a7504, kTagCsv = 0x1a7506, kTagIntelTeeQuote = 60000;
inline constexpr size_t kMaxExtensionBytes = 64 * 1024;

struct TaggedEvidence {
  std::uint64_t tag = kTagSnp;
  Bytes evidence, claims;  // claims: the exact CBOR bytes the report binds
};

struct Endorsements {
  std::uint64_t tag = kTagSnp;
  std::vector<Bytes> items;
};

Result<Bytes> encode_tagged_evidence(const TaggedEvidence& e);
Result<TaggedEvidence> decode_tagged_evidence(ByteView cbor);
Result<Bytes> encode_endorsements(const Endorsements& e);
Result<Endorsements> decode_endorsements(ByteView cbor);

struct AttestedCertSpec {
  std::string common_name = "cci-run";
  std::vector<std::string> dns_names;
  std::time_t not_before = 0, not_after = 0;  // keep it short: at most 24 h
};

Result<crypto::Certificate> make_attested_certificate(const crypto::PrivateKey& key, const TaggedEvidence& evidence,
                                                      const std::optional<Endorsements>& endorsements, const AttestedCertSpec& spec);

struct AttestedCertificate {
  TaggedEvidence evidence;
  std::optional<Endorsements> endorsements;
  Claims claims;
};

// The certificate-level checks of the verifier algorithm (steps 1-5 minus TLS and platform):
// a valid self-signature, CA:FALSE, current at `at`, validity at most `max_validity` seconds,
// exactly one evidence extension, strict CBOR, claims that decode, pubkey-hash equal to
// SHA-256 of this certificate's SubjectPublicKeyInfo. The report itself is checked by the caller
// (vendor chain, policy) together with report_data_for_claims(evidence.claims).
Result<AttestedCertificate> read_attested_certificate(const crypto::Certificate& cert, std::time_t at, std::time_t max_validity = 24 * 3600);

}  // namespace cci::ratls
