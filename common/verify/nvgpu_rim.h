// NVIDIA reference integrity manifests (RIMs) for GPU drivers and VBIOS, and the comparison of a
// GPU report's measurements with them, as NVIDIA's local GPU verifier and attestation SDK do:
//   the RIM is an ISO/IEC 19770-2:2015 SWID tag (SoftwareIdentity) signed with an enveloped
//     W3C XML-Signature (one Reference URI="" with the enveloped-signature and C14N 1.1
//     transforms, ECDSA-SHA384, the signer's chain in KeyInfo/X509Data). The signature, the
//     canonicalization and the chain are checked by libxmlsec1 (never a hand-written
//     canonicalizer), restricted to exactly that profile: X.509 keys only (a bare KeyValue is
//     never trusted), the chain anchored in the NVIDIA RIM root pinned here by the SHA-256 of its
//     DER, every certificate valid at `at`;
//   Meta@colloquialVersion (the driver or VBIOS version), Meta@product, and Payload's 64
//     Resource type="Measurement" entries (index, active, alternatives, Hash0..HashN-1 in the
//     xmlenc#sha384 namespace) are read from the same document that was verified.
// A report block with SPDM Index i+1 is compared with the RIM's measurement index i; an active
// measurement must equal one of its alternatives.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "crypto/x509.h"
#include "nvgpu/report.h"
#include "verify/check.h"

namespace cci::verify {

// SHA-256 of the DER of the NVIDIA CoRIM signing Root CA (C=US, O=NVIDIA, P-384).
Bytes pinned_nvidia_rim_root_fingerprint();

struct RimMeasurement {
  unsigned index = 0;
  bool active = false;
  std::vector<Bytes> alternatives;
};

struct Rim {
  std::string colloquial_version;  // "545.00", "96.00.5E.00.01"
  std::string product;             // "GH100"
  std::string tag_id;
  std::string signer;              // the signing certificate's CN, with its validity
  std::vector<RimMeasurement> measurements;
};

struct RimVerification {
  bool passed = false;
  CheckList checks;          // nvgpu.rim_chain, nvgpu.rim_signature, nvgpu.rim_content
  std::optional<Rim> rim;    // set when the content was read, before any signature check: authentic only if `passed`
  std::vector<crypto::Certificate> chain;  // the signer's chain as checked, signer first, the anchor last (revocation)
};

inline constexpr size_t kMaxRimSize = 4u << 20;

// `what` names the RIM in messages ("driver RIM", "VBIOS RIM"); `root` replaces the pinned RIM
// root (tests).
RimVerification verify_rim(ByteView xml, std::time_t at, const std::string& what, const crypto::Certificate* root = nullptr);

// Whether a RIM's colloquialVersion names the report's driver or VBIOS version (NVIDIA writes
// VBIOS versions in upper case, the report decodes to lower case).
bool rim_version_matches(const std::string& rim_version, const std::string& report_version);
// The id NVIDIA's RIM service serves the RIM for this report under: NV_GPU_DRIVER_GH100_<driver>
// (Hopper) or NV_GPU_CC_DRIVER_<CHIP_INFO>_<driver> (later chips); NV_GPU_VBIOS_<PROJECT>_
// <PROJECT_SKU>_<CHIP_SKU>_<VBIOS without dots, upper case>. Empty when the report lacks a field
// the id needs (a Blackwell FSP report's OpaqueData is empty: its reference values are CoRIMs).
std::string rim_id(const nvgpu::Report& report, bool driver);
// Why a report has no RIM id of that kind (rim_id empty), for verdicts and fetch reports.
std::string no_rim_id_reason(const nvgpu::Report& report, bool driver);

// The report's measurements against verified RIMs (either may be null), with the rules NVIDIA's
// verifiers share: nvgpu.driver_rim_version / nvgpu.vbios_rim_version (the RIM is for the
// report's version, compared case-insensitively); nvgpu.rim_index_conflict (no index active in
// both); nvgpu.measurements (every active index equal to one of its alternatives, mismatching
// indices named; index 35 is skipped when the report says NVDEC0 is disabled, 0x55).
void compare_measurements(const nvgpu::Report& report, const Rim* driver, const Rim* vbios, CheckList& c);

// For the simulator and tests, never on a verification path: signs `unsigned_xml` (a SWID tag
// whose SoftwareIdentity holds one Signature template in NVIDIA's profile: enveloped, C14N 1.1,
// SHA-384, ECDSA-SHA384, an empty KeyInfo/X509Data) with `key_pem`, writing `certs_pem` (the
// signer first) into X509Data. libxmlsec1 fills DigestValue and SignatureValue.
Result<Bytes> sign_rim_xml(ByteView unsigned_xml, const std::string& key_pem, const std::vector<std::string>& certs_pem);

}  // namespace cci::verify
