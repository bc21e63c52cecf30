#include "verify/nvgpu_verify.h"

#include <algorithm>
#include <set>

#include "base/hex.h"
#include "base/text.h"
#include "crypto/keys.h"

namespace cci::verify {
namespace {

constexpr size_t kChainLength = 5;
constexpr const char* kOidFwid = "2.23.133.5.4.1";  // the FWID extension of Hopper attestation-key certificates
constexpr const char* kOidDiceTcbInfo = "2.23.133.5.4.1.1";  // TCG DiceTcbInfo, on Blackwell attestation-key certificates

// The report's header fields whose value makes it something other than a signed SPDM 1.1
// measurement report (as opposed to a report that is merely cut wrong).
bool header_field(const std::string& field) {
  static const std::set<std::string> kHeader = {"request.SPDMVersion", "request.RequestResponseCode", "request.Param1", "response.SPDMVersion",
                                                "response.RequestResponseCode", "block.MeasurementSpecification"};
  return kHeader.count(field) != 0;
}

// r || s big-endian (48 bytes each) as a DER ECDSA-Sig-Value.
Result<Bytes> rs_be_to_der(ByteView rs) {
  Bytes r(rs.begin(), rs.begin() + 48), s(rs.begin() + 48, rs.end());
  std::reverse(r.begin(), r.end());
  std::reverse(s.begin(), s.end());
  return crypto::ecdsa_le_rs_to_der(r, s);
}

void run_gpu_checks(const GpuEvidence& ev, GpuVerification& v) {
  CheckList& c = v.checks;
  auto r = nvgpu::parse_report(ev.report);
  if (!r) {
    c.add(header_field(r.error().field) ? "nvgpu.spdm_header" : "nvgpu.report", false, r.error().message);
    return;
  }
  c.add("nvgpu.report", true,
        "SPDM 1.1 MEASUREMENTS, " + std::to_string(r->blocks.size()) + " blocks, driver " + (r->driver_version.empty() ? "?" : r->driver_version) + ", VBIOS " +
            (r->vbios_version.empty() ? "?" : r->vbios_version));
  v.report = *r;

  auto chain = crypto::parse_pem_bundle(as_bytes(ev.chain_pem));
  if (!chain) {
    c.add("nvgpu.device_chain", false, "the device certificate chain: " + chain.error().message);
    return;
  }
  if (chain->size() != kChainLength) {
    c.add("nvgpu.device_chain", false,
          "the device certificate chain holds " + std::to_string(chain->size()) + " certificates, not 5 (attestation key, device, provisioner, identity, root)");
    return;
  }
  std::optional<crypto::Certificate> anchor;
  std::string anchor_name = "the pinned NVIDIA Device Identity CA";
  if (ev.root) {
    anchor = ev.root->clone();
    anchor_name = ev.root->subject_common_name();
  } else {
    // The chain's own last certificate is replaced by the pinned root, as NVIDIA's verifiers do.
    auto pinned = pinned_nvidia_device_root_fingerprint();
    if ((*chain)[4].fingerprint_sha256() != pinned) {
      c.add("nvgpu.device_chain", false, "the chain's root (" + (*chain)[4].subject() + ") is not the pinned NVIDIA Device Identity CA");
      return;
    }
    anchor = (*chain)[4].clone();
  }
  const crypto::Certificate& leaf = (*chain)[0];
  std::vector<crypto::Certificate> middle;
  for (size_t i = 1; i + 1 < chain->size(); ++i) middle.push_back((*chain)[i].clone());
  const crypto::Certificate anchors[] = {anchor->clone()};
  if (auto st = crypto::verify_chain(leaf, middle, anchors, ev.at); !st) {
    c.add("nvgpu.device_chain", false, st.error().message);
    return;
  }
  // In order, as NVIDIA's SDKs write it: each certificate issued by the next (the last by the
  // anchor). OpenSSL builds the path whatever the order; the order makes the second certificate
  // the leaf's issuer, the device certificate that names this GPU (distinct_gpus relies on it).
  for (size_t i = 0; i + 1 < chain->size(); ++i) {
    const crypto::Certificate& issuer = i + 2 == chain->size() ? *anchor : (*chain)[i + 1];
    if (!(*chain)[i].names_issuer(issuer) || !(*chain)[i].signed_by(issuer)) {
      c.add("nvgpu.device_chain", false,
            "the chain is not in order: certificate " + std::to_string(i + 2) + " (" + issuer.subject_common_name() + ") did not issue certificate " +
                std::to_string(i + 1) + " (" + (*chain)[i].subject_common_name() + "); NVIDIA's chains run from the attestation key to the root");
      return;
    }
  }
  c.add("nvgpu.device_chain", true, leaf.subject_common_name() + " <- " + (*chain)[1].subject_common_name() + " <- ... <- " + anchor_name + ", valid at " + rfc3339_utc(ev.at));
  v.attestation_key_cert = leaf.clone();
  v.device_cert = (*chain)[1].clone();

  auto key = leaf.public_key();
  auto der = rs_be_to_der(r->signature);
  crypto::SignOptions so;
  so.digest = crypto::DigestAlg::kSha384;
  const bool signed_ok = key && der && static_cast<bool>(crypto::verify(*key, r->signed_bytes, *der, so));
  c.add("nvgpu.report_signature", signed_ok,
        signed_ok ? "request and response signed by the GPU's attestation key (ECDSA P-384, SHA-384)"
                  : "the report's signature does not verify with the attestation key of this chain");

  if (!ev.nonce) {
    c.missing("nvgpu.request_nonce", "no nonce to compare the request's with: the report's freshness cannot be evaluated");
  } else {
    const bool fresh = ev.nonce->size() == r->request_nonce.size() && std::equal(ev.nonce->begin(), ev.nonce->end(), r->request_nonce.begin());
    c.add("nvgpu.request_nonce", fresh, fresh ? "the request nonce is the verifier's" : "the request nonce " + to_hex(r->request_nonce) + " is not the verifier's " + to_hex(*ev.nonce));
  }

  if (r->fwid) {
    // Hopper: the last 48 bytes of 2.23.133.5.4.1; Blackwell: the first FWID of DiceTcbInfo.
    std::optional<Bytes> cert_fwid;
    std::string where = "extension 2.23.133.5.4.1";
    if (auto ext = leaf.extension_value(kOidFwid); ext && *ext) {
      if ((*ext)->size() >= 48) cert_fwid = Bytes((*ext)->end() - 48, (*ext)->end());
    } else if (auto dice = leaf.extension_value(kOidDiceTcbInfo); dice && *dice) {
      where = "DiceTcbInfo (2.23.133.5.4.1.1)";
      auto f = nvgpu::dice_tcb_info_fwid(**dice);
      if (!f) {
        c.add("nvgpu.fwid", false, "the attestation key's certificate: " + f.error().message);
        return;
      }
      cert_fwid = std::move(*f);
    }
    if (!cert_fwid) {
      c.add("nvgpu.fwid", false, "the report carries an FWID but the attestation key's certificate has none (2.23.133.5.4.1 or DiceTcbInfo 2.23.133.5.4.1.1)");
      return;
    }
    const bool same = *r->fwid == *cert_fwid;
    c.add("nvgpu.fwid", same, same ? "the report's FWID is the one in the attestation key's certificate (" + where + ")"
                                   : "the report's FWID " + to_hex(*r->fwid) + " is not the certificate's " + to_hex(*cert_fwid) + " (" + where + ")");
  } else {
    c.skip("nvgpu.fwid", r->opaque.empty() ? "the report carries no OpaqueData, so no FWID (Blackwell's FSP reports): nothing to bind it to the certificate"
                                           : "the report carries no FWID (drivers before 550 do not): nothing to bind it to the certificate");
  }
  v.complete = true;
}

}  // namespace

Bytes pinned_nvidia_device_root_fingerprint() {
  return *from_hex("102bf659d5419614c9d8e6aecebc80454eb26b1df6a769ac720b9a690b167b48", "NVIDIA Device Identity CA fingerprint", 32);
}

GpuVerification verify_gpu_report(const GpuEvidence& ev) {
  GpuVerification v;
  run_gpu_checks(ev, v);
  v.passed = v.complete && v.checks.all_passed();
  if (v.passed) v.verified = Verified<nvgpu::Report>(*v.report);
  return v;
}

}  // namespace cci::verify
