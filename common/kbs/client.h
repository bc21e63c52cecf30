// The client side of a trustee KBS key release (protocol 0.4.0, the RCAR handshake as
// confidential-containers/trustee kbs/docs/kbs_attestation_protocol.md and guest-components'
// kbs_protocol client do it):
//   POST /kbs/v0/auth    {"version":"0.4.0","tee":TEE,"extra-params":{...}} -> Challenge + session cookie
//   POST /kbs/v0/attest  {"init-data":null,"runtime-data":{nonce,tee-pubkey},"tee-evidence":{...}}
//                        with REPORT_DATA = SHA-384(JCS(runtime data)) (runtime_data.h)
//   GET  /kbs/v0/resource/REPO/TYPE/TAG -> a flattened JWE to the ephemeral tee-pubkey (jwe.h)
// A fresh P-256 key per handshake, held in memory only. A refusal by policy (PolicyDeny) ends at
// once; an expired or unknown session (TokenNotFound, ...) gets one fresh handshake, as
// guest-components does; a transport error is the caller's to retry.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "crypto/random.h"

namespace cci::kbs {

struct KbsClientOptions {
  std::string base_url;            // https://HOST:PORT (http:// only with allow_plain_http)
  std::string pinned_public_key;   // "sha256//..." of the KBS's certificate (--kbs-cert); empty: the system CAs
  bool allow_plain_http = false;   // --insecure-http-kbs
  std::string tee = "sample";      // kbs-types Tee: "snp", "csv", "tdx", "sample"
  long timeout_ms = 30000;
  std::function<void(const std::string&)> note;  // each step, for logs (never the key)
};

// The TEE's evidence for the KBS, as trustee's verifier for `tee` reads primary_evidence, with
// `report_data` (runtime_data.h report_data_for) in it.
using KbsEvidence = std::function<Result<nlohmann::json>(ByteView report_data)>;

// The resource REPO/TYPE/TAG, decrypted. Errors: kVerificationFailed field "policy-deny" when the
// KBS's policy refused; kIo for transport; kMalformed for answers that are not the protocol's.
Result<crypto::SecretBytes> fetch_resource(const KbsClientOptions& o, const std::string& resource, const KbsEvidence& evidence);

// primary_evidence for the "sample" TEE (trustee deps/verifier/src/sample): {"svn":"1","report_data":base64}.
nlohmann::json sample_evidence(ByteView report_data);

}  // namespace cci::kbs
