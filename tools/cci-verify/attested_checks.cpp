#include "attested_checks.h"

#include "client/attested_client.h"

#include <ctime>

#include "evidence/evidence_file.h"
#include "base/file_io.h"
#include "base/hex.h"
#include "cli/inputs.h"
#include "crypto/digest.h"
#include "crypto/random.h"
#include "ratls/evidence_bridge.h"
#include "manifest/release.h"

namespace cci::tools::verify {
namespace {

}  // namespace

void add_attested_flags(CLI::App* sub, ReportOptions& r, ExpectedClaims& e) {
  sub->add_option("--purpose", e.purpose, "Expected cci-purpose claim")->capture_default_str();
  sub->add_option("--deploy", e.deploy, "Expected cci-deploy claim (deployment id)");
  cli::add_alias(sub, sub->add_option("--release-key", r.manifest_key,
                  "The release public key (PEM) that signed the server's manifest: the trust anchor for the model and the deployment"), "--manifest-key", r.manifest_key);
  cli::add_keyless_flags(sub, r.release_keyless, "release-");
  cli::add_alias(sub, sub->add_option("--deployment", r.manifest,
                  "A local copy of the signed manifest the claims name (deployment manifest or model bundle); remote: default the server's"), "--manifest", r.manifest);
  sub->add_flag("--insecure-any-manifest", r.insecure_any_manifest,
                "cert: accept without checking which manifest (model, deployment) the claims name");
  sub->add_option("--policy", r.policy_file, "Policy YAML (overrides the manifest's)");
  sub->add_option("--measurement", r.measurements, "An expected measurement (repeatable)");
  sub->add_option("--trust-sim-root", r.trust_sim_roots, "Accept evidence from the cci-run sim platform in DIR (testing only)");
  sub->add_option("--hsk-cek", r.hsk_cek, "CSV: HSK || CEK for the report's chip ID");
  sub->add_option("--crl", r.crl, "SNP: the ARK's CRL");
  sub->add_flag("--offline", r.offline, "Never contact the vendor key server");
  sub->add_flag("--insecure-no-crl", r.insecure_no_crl, "Do not require a CRL");
  sub->add_flag("--insecure-any-measurement", r.insecure_any_measurement,
                "Accept ANY launch measurement when none is expected (a plain model bundle names no VM): any VM image passes");
  sub->add_flag("--insecure-allow-debug", r.insecure_allow_debug, "Accept guests whose policy allows debugging");
  sub->add_flag("--allow-vlek", r.allow_vlek, "Accept reports signed by a VLEK");
  sub->add_flag("--insecure-unpinned-v1", r.insecure_unpinned_v1, "CSV V1: accept without an expected measurement (masked fields)");
  add_field_flags(sub, r);
  add_kds_flags(sub, r.kds);
}

Status check_claims(const ratls::Claims& c, const ExpectedClaims& e, ReportOptions& r, const std::optional<Bytes>& served) {
  if (c.purpose != e.purpose) {
    return make_error(ErrorCode::kVerificationFailed, "the certificate's purpose is '" + c.purpose + "', not '" + e.purpose + "'", "cci-purpose");
  }
  if (!e.deploy.empty() && c.deploy != e.deploy) {
    return make_error(ErrorCode::kVerificationFailed, "the certificate's deployment id is '" + c.deploy.value_or("") + "', not '" + e.deploy + "'", "cci-deploy");
  }
  std::optional<Bytes> bytes;
  std::string label;
  if (!r.manifest.empty()) {
    CCI_SET(bytes, read_file(r.manifest, manifest::kMaxReleaseManifestBytes));
    label = r.manifest;
  } else if (served) {
    bytes = *served;
    label = "the server's manifest";
  }
  const std::string source = r.manifest.empty() ? "served by the server" : r.manifest;
  if (!bytes) {
    if (r.insecure_any_manifest) return {};
    return make_error(ErrorCode::kUsage,
                      "give the manifest the claims name and the key that signed it: --deployment FILE --release-key PUB (or accept any "
                      "model and deployment with --insecure-any-manifest)",
                      "manifest");
  }
  CCI_ASSIGN(signer, cli::load_release_signer(r.manifest_key, r.release_keyless));
  CCI_ASSIGN(release, client::claimed_release(c, std::move(*bytes), std::move(signer), std::time(nullptr), label));
  r.release = std::make_shared<const manifest::Release>(std::move(release));
  r.release_label = source;
  r.manifest.clear();  // done: the report pipeline takes the verified release
  return {};
}


}  // namespace cci::tools::verify
