#include "client/verifier.h"

#include <ctime>

#include "appraise/cache_collateral.h"
#include "appraise/expectations.h"
#include "base/hex.h"
#include "collateral/amd_kds.h"
#include "collateral/hygon_kds.h"
#include "collateral/intel_pcs.h"

namespace cci::client {

std::string first_failed_check(const appraise::Verdict& v) {
  for (const auto* list : {&v.checks, v.findings ? &*v.findings : nullptr}) {
    if (!list) continue;
    for (const auto& c : list->items()) {
      if (c.outcome == verify::Outcome::kFail) return c.id + ": " + c.detail;
    }
  }
  return v.outcome == appraise::Outcome::kMissingCollateral ? "cannot evaluate without the missing collateral" : "refused";
}

Result<ServerVerdict> ReplicaVerifier::check(Connection& c, const Endpoint& e) {
  ServerVerdict out;
  if (keys_.contains(c.pin)) {
    out.cached = true;
    return out;
  }
  verifications_.fetch_add(1);
  const std::time_t now = std::time(nullptr);
  CCI_ASSIGN(attested, ratls::read_attested_certificate(*c.cert, now));
  if (attested.claims.purpose != "tls-server") {
    return make_error(ErrorCode::kVerificationFailed, "the certificate's purpose is '" + attested.claims.purpose + "', not 'tls-server'", "cci-purpose");
  }
  CCI_ASSIGN(served, fetch_manifest(*c.tls, e));
  CCI_ASSIGN(release, claimed_release(attested.claims, std::move(served), o_.release, now, "the server's manifest"));
  if (release.kind != manifest::Release::Kind::kDeployment) {
    return make_error(ErrorCode::kUnsupported, "the server serves a plain model bundle, which names no VM: check it with cci-verify remote --measurement", "manifest");
  }
  CCI_ASSIGN(fresh, fetch_fresh(*c.tls, e, attested));
  if (fresh.gpu) return make_error(ErrorCode::kUnsupported, "the server has confidential GPUs: check it with cci-verify remote (RIMs, OCSP)", "cci-gpu");
  appraise::Request r;
  CCI_SET(r.evidence, evidence_document(fresh.evidence.tag, fresh.evidence.evidence, attested.endorsements));
  r.label = "https://" + e.label();
  r.at = now;
  r.crl_required = o_.crl_required;
  r.trust_sim_roots = o_.trust_sim_roots;
  CCI_TRY(appraise::apply_release(release, "the server's manifest", r.expect));
  r.expect.report_data = ratls::report_data_for_claims(fresh.evidence.claims);
  appraise::CacheCollateralOptions co;
  co.cache_dir = o_.cache_dir;
  co.offline = o_.offline;
  co.amd.kds_url = collateral::default_kds_url();
  co.hygon.kds_url = collateral::default_hygon_kds_url();
  co.intel.pcs_url = collateral::default_pcs_url();
  co.intel.at = now;
  appraise::CacheCollateral collateral(std::move(co));
  CCI_SET(out.verdict, appraise::appraise(r, collateral));
  if (out.verdict.outcome == appraise::Outcome::kAccepted) keys_.add(c.pin);
  return out;
}

}  // namespace cci::client
