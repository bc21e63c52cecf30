// Confidential Containers init-data for a cci-run serve pod: the TOML document the Kata runtime
// hands into the guest (annotation io.katacontainers.config.hypervisor.cc_init_data =
// base64(gzip(TOML))) and its digest, which the host must set as the TEE's host-data field at
// launch, so that the hardware report binds it:
//   digest = HASH(the TOML text exactly as delivered), HASH named by its `algorithm` field
//            (sha256, sha384 or sha512);
//   SEV-SNP HOST_DATA (32 bytes) and TDX MRCONFIGID (48 bytes) = the digest cut to the field's
//            length, or padded with zero bytes up to it.
// (Confidential Containers trustee, kbs/docs/initdata.md, "Integrity Binding for Different TEEs"
// and "Initdata Digest Calculating", version 0.1.0.)
//
// The document cci renders is deterministic: the same settings give the same bytes, so the
// signed deployment manifest can record the text, its digest and the fields the verifiers expect.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/digest.h"

namespace cci::kubernetes {

inline constexpr char kInitDataVersion[] = "0.1.0";
inline constexpr char kInitDataAnnotation[] = "io.katacontainers.config.hypervisor.cc_init_data";
inline constexpr size_t kSnpHostDataBytes = 32;
inline constexpr size_t kTdxMrConfigIdBytes = 48;

// What goes into the guest. Every text value is one line of printable ASCII without quotes or
// backslashes (it is written into TOML strings verbatim); violations name the field.
struct InitDataSettings {
  std::string deployment;                 // the deployment's name
  std::string model_sha256;               // hex; empty when the deployment names no model
  std::string image;                      // the cci-run container image, pinned by digest
  unsigned port = 8443;                   // where cci-run serve listens in the pod
  std::string key_source;                 // cci-run serve --key-source; empty: none (plain model)
  std::optional<std::string> kbs_url;     // trustee, for the attestation agent and the data hub
  std::optional<std::string> kbs_cert;    // its TLS certificate (PEM), when kbs_url is https
  std::string algorithm = "sha384";       // sha256 | sha384 | sha512
};

// The init-data TOML: algorithm, version, and [data] with aa.toml and cdh.toml (when kbs_url is
// given), cci.toml (what this pod is for) and policy.rego (a restrictive kata-agent policy: only
// the pinned image runs; no exec, no file copies, no stdin, no policy change).
Result<std::string> render_init_data(const InitDataSettings& s);

// The digest algorithm an init-data `algorithm` value names; anything else is an error.
Result<crypto::DigestAlg> init_data_algorithm(std::string_view name);

// HASH(toml) with the named algorithm.
Result<Bytes> init_data_digest(std::string_view toml, std::string_view algorithm);

// The digest fitted to a TEE field: cut to `len` bytes, or padded with zeros up to it.
Bytes fit_to_field(ByteView digest, size_t len);

// The annotation value: standard base64 (padded) of the gzip-compressed TOML.
Result<std::string> init_data_annotation(std::string_view toml);

}  // namespace cci::kubernetes
