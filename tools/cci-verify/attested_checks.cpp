#include "attested_checks.h"

#include <ctime>

#include "attest/evidence_file.h"
#include "base/file_io.h"
#include "base/hex.h"
#include "cli/inputs.h"
#include "crypto/digest.h"
#include "crypto/random.h"
#include "manifest/model_signing.h"
#include "manifest/oms.h"

namespace cci::tools::verify {
namespace {

bool is_oms_bundle(ByteView data) {
  const std::string_view text(reinterpret_cast<const char*>(data.data()), std::min<size_t>(data.size(), 4096));
  return text.find(manifest::oms::kBundleMediaType) != std::string_view::npos;
}

// A model's OMS bundle: its signature, statement and subject digest (the server checked the files).
Status check_model_bundle(const ReportOptions& r, ByteView bundle) {
  if (r.manifest_key.empty()) return make_error(ErrorCode::kUsage, "--manifest needs --manifest-key PUB", "manifest-key");
  auto key = cli::load_public_key_file(r.manifest_key);
  if (!key) return key.error();
  manifest::VerifyModelOptions vo;
  vo.signature_only = true;
  vo.public_key = std::move(*key);
  vo.at = std::time(nullptr);
  auto v = manifest::verify_model(bundle, vo);
  if (!v) return make_error(v.error().code, r.manifest + ": " + v.error().message, v.error().field);
  if (!v->passed) return make_error(ErrorCode::kVerificationFailed, r.manifest + ": the model manifest's signature does not verify with " + r.manifest_key, "manifest");
  return {};
}

}  // namespace

void add_attested_flags(CLI::App* sub, ReportOptions& r, ExpectedClaims& e) {
  sub->add_option("--purpose", e.purpose, "Expected cci-purpose claim")->capture_default_str();
  sub->add_option("--deploy", e.deploy, "Expected cci-deploy claim (deployment id)");
  sub->add_option("--manifest", r.manifest,
                  "The manifest the server was given (model OMS bundle or deployment manifest): its SHA-256 must be the cci-manifest claim");
  sub->add_option("--manifest-key", r.manifest_key, "Public key that signed the manifest (PEM)");
  sub->add_option("--policy", r.policy_file, "Policy YAML (overrides the manifest's)");
  sub->add_option("--measurement", r.measurements, "An expected measurement (repeatable)");
  sub->add_option("--trust-sim-root", r.trust_sim_roots, "Accept evidence from the cci-run sim platform in DIR (testing only)");
  sub->add_option("--hsk-cek", r.hsk_cek, "CSV: HSK || CEK for the report's chip ID");
  sub->add_option("--crl", r.crl, "SNP: the ARK's CRL");
  sub->add_flag("--offline", r.offline, "Never contact the vendor key server");
  sub->add_flag("--insecure-no-crl", r.insecure_no_crl, "Do not require a CRL");
  sub->add_flag("--insecure-allow-debug", r.insecure_allow_debug, "Accept guests whose policy allows debugging");
  sub->add_flag("--allow-vlek", r.allow_vlek, "Accept reports signed by a VLEK");
  sub->add_flag("--insecure-unpinned-v1", r.insecure_unpinned_v1, "CSV V1: accept without an expected measurement (masked fields)");
  add_kds_flags(sub, r.kds);
}

Status check_claims(const ratls::Claims& c, const ExpectedClaims& e, ReportOptions& r) {
  if (c.purpose != e.purpose) {
    return make_error(ErrorCode::kVerificationFailed, "the certificate's purpose is '" + c.purpose + "', not '" + e.purpose + "'", "cci-purpose");
  }
  if (!e.deploy.empty() && c.deploy != e.deploy) {
    return make_error(ErrorCode::kVerificationFailed, "the certificate's deployment id is '" + c.deploy.value_or("") + "', not '" + e.deploy + "'", "cci-deploy");
  }
  if (r.manifest.empty()) return {};
  auto m = read_file(r.manifest, 64u << 20);
  if (!m) return m.error();
  if (!crypto::ct_equal(crypto::digest(crypto::DigestAlg::kSha256, *m), c.manifest_sha256)) {
    return make_error(ErrorCode::kVerificationFailed, "the certificate's claims name another manifest (cci-manifest sha256:" + to_hex(c.manifest_sha256) + ")",
                      "cci-manifest");
  }
  if (is_oms_bundle(*m)) {
    CCI_TRY(check_model_bundle(r, *m));
    r.manifest.clear();  // done: the report pipeline takes policy and measurements from elsewhere
  }
  return {};
}

Result<Bytes> evidence_document(std::uint64_t tag, ByteView evidence, const std::optional<ratls::Endorsements>& endorsements) {
  attest::EvidenceFile e;
  e.tee = tag == ratls::kTagSnp ? "snp" : "csv";
  e.report = Bytes(evidence.begin(), evidence.end());
  if (endorsements && tag == ratls::kTagSnp) {
    std::string chain;
    for (size_t i = 0; i < endorsements->items.size(); ++i) {
      auto c = crypto::Certificate::from_der(endorsements->items[i]);
      if (!c) return make_error(ErrorCode::kMalformed, "endorsement " + std::to_string(i) + " is not a DER certificate", "endorsements");
      if (i == 0) e.vek_pem = c->pem();
      else chain += c->pem();
    }
    if (!chain.empty()) e.cert_chain_pem = chain;
  }
  if (endorsements && tag == ratls::kTagCsv && !endorsements->items.empty()) e.hrk = endorsements->items[0];
  const std::string text = attest::write_evidence_file(e);
  return Bytes(text.begin(), text.end());
}

}  // namespace cci::tools::verify
