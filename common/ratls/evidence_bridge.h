// Between cci.evidence.v1 files (what a TEE source produces and a verifier reads) and the evidence
// an attested TLS certificate or a fresh answer carries: CBOR tag(T)([report, claims]) with the
// platform certificates as endorsements (TCG DICE Attestation Architecture, "Conceptual Message
// Wrapper" tags). One table maps each TEE to its tag; an unknown tag is an error, never another
// vendor's.
#pragma once

#include <optional>
#include <string>

#include "evidence/evidence_file.h"
#include "ratls/attested_cert.h"

namespace cci::ratls {

Result<std::uint64_t> tag_for_tee(const std::string& tee);  // "snp" and "sim-snp" → kTagSnp, ...
Result<std::string> tee_for_tag(std::uint64_t tag);         // "snp", "csv", "tdx"

// The certificates that came with the evidence, as endorsements (candidates for the verifier):
// SEV-SNP the VEK then its chain (DER), Hygon CSV the HRK; none for TDX (the quote holds its chain).
Result<std::optional<Endorsements>> endorsements_of(const evidence::EvidenceFile& e);

// A cci.evidence.v1 document for evidence carried by a certificate or a fresh answer.
Result<evidence::EvidenceFile> evidence_file_of(std::uint64_t tag, ByteView report, const std::optional<Endorsements>& endorsements);

}  // namespace cci::ratls
