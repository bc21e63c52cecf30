// The Kubernetes objects that run a signed deployment on Confidential Containers
// (cci-measure k8s): everything comes from the verified deployment predicate's `kubernetes`
// section (kubernetes/init_data.h) plus how many replicas and which kind the operator asks for.
//   ConfigMap   NAME-release: the signed manifest and what checks it (release key or Sigstore
//               trusted root), mounted read-only where cci-run serve reads them
//   Service     NAME: headless (clusterIP None), so clients reach each replica's own address and
//               verify it (no load balancer terminates or multiplexes the attested TLS)
//   StatefulSet or Deployment NAME: the Kata confidential runtime class, the init-data annotation,
//               one cci-run serve container from the pinned image; API keys from Secret NAME-api-keys
// Rendered as YAML text (one document per object), for kubectl apply.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace cci::kubernetes {

struct WorkloadOptions {
  std::string kind = "StatefulSet";     // StatefulSet | Deployment
  unsigned replicas = 3;                // 1..1000
  std::string name;                     // objects' name (RFC 1123 label); empty: the deployment's
  std::string ns;                       // metadata.namespace; empty: none (kubectl's current)
  std::string manifest_text;            // the signed manifest, exactly as verified
  std::string release_key_pem;          // the release key, or empty for a keyless release:
  std::vector<std::string> keyless_args;  // then serve's --release-identity/--release-issuer flags
  std::string trusted_root_json;        // and the Sigstore trusted root
};

// `predicate` is a verified deployment predicate; one without a `kubernetes` section is a usage
// error (the description had none: add it to cci.yaml and build again).
Result<std::string> render_workload(const nlohmann::ordered_json& predicate, const WorkloadOptions& o);

// A name Kubernetes accepts for these objects (RFC 1123 label, at most 52 characters so that
// StatefulSet pod names stay labels); the error says why not.
Status check_object_name(const std::string& name, const std::string& field);

}  // namespace cci::kubernetes
