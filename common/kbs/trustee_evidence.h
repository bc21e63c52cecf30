// TEE evidence in the JSON shapes trustee's verifiers read (the KBS attest request's
// primary_evidence), for the hardware TEEs. guest-components' SNP attester sends
//   {"attestation_report": <the report as the Rust `sev` crate serialises its parsed struct>,
//    "cert_chain": [{"cert_type": "VCEK", "data": [DER bytes]}] | null}
// rather than the report's bytes: every field by name, byte arrays as arrays of numbers,
// TCB_VERSION as {"fmc","bootloader","tee","snp","microcode"} (fmc null before Turin), firmware
// versions as {"major","minor","build"}, and the signature as {"r","s"} (72 bytes each, as stored).
// The verifier rebuilds the report's bytes from these fields to check the signature, so the
// writer must carry every signed field (SEV-SNP ABI 56860, "ATTESTATION_REPORT Structure").
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/bytes.h"
#include "base/result.h"

namespace cci::kbs {

// A certificate for cert_chain: its type as the sev crate names it ("ARK", "ASK", "VCEK",
// "VLEK") and its DER bytes.
struct SnpCert {
  std::string type;
  Bytes der;
};

// primary_evidence for trustee's "snp" verifier from a raw 1184-byte report. Versions 2 and 3
// only: the field set is the one trustee's own test evidence has; later versions add fields
// whose JSON names this version does not know (kUnsupported, rather than evidence whose
// signature the verifier could not rebuild). An empty `certs` writes "cert_chain": null.
Result<nlohmann::json> snp_evidence(ByteView report, const std::vector<SnpCert>& certs);

}  // namespace cci::kbs
