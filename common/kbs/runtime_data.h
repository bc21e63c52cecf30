// The trustee KBS protocol 0.4.0 binding of a key-release session to hardware evidence
// (confidential-containers/trustee kbs/docs/kbs_attestation_protocol.md, and as its code does it):
// the client's runtime data {"additional-evidence", "nonce", "tee-pubkey"} is canonicalised with
// RFC 8785 (JSON Canonicalization Scheme) and hashed with SHA-384; SEV-SNP and Hygon CSV carry the
// digest followed by 16 zero bytes in REPORT_DATA, the sample TEE the bare digest, device evidence
// the digest of {"nonce", "tee-pubkey"} only. Pure; no I/O.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "base/bytes.h"
#include "base/result.h"

namespace cci::kbs {

using Json = nlohmann::json;

// RFC 8785 JCS of a value made of objects, arrays, strings, integers, booleans and null: object
// members sorted by key, no whitespace, strings escaped as ECMAScript JSON.stringify does. Non-
// integer numbers are refused (cci never sends them; their RFC 8785 form needs ES6 doubles).
Result<std::string> jcs(const Json& v);

// The tee-pubkey member exactly as the KBS re-serialises it: kty, crv, alg, x, y (base64url).
Json tee_pubkey_json(const std::string& x_b64url, const std::string& y_b64url);

// SHA-384(JCS({"additional-evidence": additional, "nonce": nonce, "tee-pubkey": key})); the nonce
// is the challenge's string, copied verbatim (never decoded and re-encoded).
Result<Bytes> runtime_data_digest(const std::string& nonce, const Json& tee_pubkey, const std::string& additional_evidence);
// SHA-384(JCS({"nonce": nonce, "tee-pubkey": key})): what device (GPU) evidence binds.
Result<Bytes> device_runtime_data_digest(const std::string& nonce, const Json& tee_pubkey);

// REPORT_DATA for the TEE: "snp", "csv" and "tdx" digest ‖ 16 zero bytes (64), "sample" the digest (48).
Result<Bytes> report_data_for(const std::string& tee, ByteView digest);

// The KBS's own check of an Attestation body against its challenge (as trustee's
// kbs/src/attestation/backend.rs does it, with its sample verifier): the runtime data's nonce must
// be the challenge's; the digest is recomputed from the typed tee-pubkey (kty, crv, alg, x, y:
// any other member is dropped); for the sample TEE it must equal the evidence's base64
// report_data. kVerificationFailed names what differed. Used by the tests' KBS on 127.0.0.1.
Status check_sample_attestation(const Json& attestation, const std::string& challenge_nonce);

}  // namespace cci::kbs
