// A client that verifies every server it talks to (cci-bench load; any program that holds many
// connections to replicas behind a balancer): the whole check of cci-verify remote for a
// deployment manifest (attested certificate, the served manifest against the release signer and
// the claims, fresh evidence bound to this connection, the report pipeline with the manifest's
// measurements and policy), done once per server key. A connection whose key was verified
// before is accepted on that key; a new key (another replica, a restarted server) is verified in
// full. GPU evidence and plain model bundles are cci-verify remote's alone (refused here).
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "appraise/appraise.h"
#include "client/attested_client.h"
#include "manifest/release.h"

namespace cci::client {

struct VerifierOptions {
  manifest::ReleaseSigner release;           // who must have signed the deployment manifest
  std::vector<std::string> trust_sim_roots;  // cci-run sim platforms trusted by name (testing)
  bool crl_required = true;
  bool offline = false;                      // collateral from the cache only
  std::string cache_dir;                     // empty: the default collateral cache
};

struct ServerVerdict {
  bool cached = false;        // the key was verified on an earlier connection
  appraise::Verdict verdict;  // the new verification (not cached)
  bool accepted() const { return cached || verdict.outcome == appraise::Outcome::kAccepted; }
};

// "CHECK-ID: detail" of the first failed check of a verdict that did not accept (authenticity
// first, then the policy), for one line about a refused replica.
std::string first_failed_check(const appraise::Verdict& v);

class ReplicaVerifier {
 public:
  explicit ReplicaVerifier(VerifierOptions o) : o_(std::move(o)) {}
  // Checks the server on `c` (thread-safe: connections of several threads may race to verify
  // the same new key; each verifies it). An error is a check that could not be made or failed
  // before the appraisal (certificate, manifest, claims, freshness); a verdict that refuses is
  // returned as such.
  Result<ServerVerdict> check(Connection& c, const Endpoint& e);
  size_t verifications() const { return verifications_.load(); }  // full verifications made
  size_t keys() const { return keys_.size(); }                     // distinct keys accepted

 private:
  VerifierOptions o_;
  VerifiedKeys keys_;
  std::atomic<size_t> verifications_{0};
};

}  // namespace cci::client
