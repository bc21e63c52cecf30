#include "kubernetes/workload.h"

#include "base/hex.h"
#include "kubernetes/init_data.h"
#include "kubernetes/yaml_text.h"

namespace cci::kubernetes {
namespace {

using Json = nlohmann::ordered_json;

// ConfigMap values are limited to 1 MiB in all (Kubernetes API, ConfigMap); leave room for the rest.
constexpr size_t kMaxConfigMapBytes = 1000u * 1024;
constexpr char kReleaseDir[] = "/etc/cci/release";
constexpr char kApiKeysDir[] = "/etc/cci/api-keys";

Result<std::string> string_at(const Json& obj, const char* key, const std::string& where) {
  if (!obj.contains(key) || !obj[key].is_string() || obj[key].get<std::string>().empty()) {
    return make_error(ErrorCode::kMalformed, "deployment manifest: " + where + "." + key + " must be a non-empty string", where + "." + key);
  }
  return obj[key].get<std::string>();
}

}  // namespace

Status check_object_name(const std::string& name, const std::string& field) {
  const bool ok_len = !name.empty() && name.size() <= 52;
  bool ok = ok_len && name.front() != '-' && name.back() != '-';
  for (const char c : name) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  if (!ok) {
    return make_error(ErrorCode::kUsage,
                      "'" + name + "' is not a name Kubernetes takes for these objects: lower-case letters, digits and '-', 1 to 52 characters, " +
                          "starting and ending with a letter or digit (give --name)",
                      field);
  }
  return {};
}

Result<std::string> render_workload(const Json& predicate, const WorkloadOptions& o) {
  if (!predicate.contains("kubernetes") || !predicate["kubernetes"].is_object()) {
    return make_error(ErrorCode::kUsage,
                      "the deployment manifest has no kubernetes section: add `kubernetes:` (image, runtime_class, ...) to cci.yaml and build it again",
                      "kubernetes");
  }
  if (o.kind != "StatefulSet" && o.kind != "Deployment") return make_error(ErrorCode::kUsage, "--kind is statefulset or deployment", "kind");
  if (o.replicas < 1 || o.replicas > 1000) return make_error(ErrorCode::kUsage, "--replicas must be between 1 and 1000", "replicas");
  const Json& k = predicate["kubernetes"];
  CCI_ASSIGN(image, string_at(k, "image", "kubernetes"));
  CCI_ASSIGN(runtime_class, string_at(k, "runtime_class", "kubernetes"));
  CCI_ASSIGN(model_path, string_at(k, "model_path", "kubernetes"));
  if (!k.contains("port") || !k["port"].is_number_unsigned() || k["port"].get<unsigned>() < 1 || k["port"].get<unsigned>() > 65535) {
    return make_error(ErrorCode::kMalformed, "deployment manifest: kubernetes.port must be a port number", "kubernetes.port");
  }
  const unsigned port = k["port"].get<unsigned>();
  if (!k.contains("init_data") || !k["init_data"].is_object()) {
    return make_error(ErrorCode::kMalformed, "deployment manifest: kubernetes.init_data is missing", "kubernetes.init_data");
  }
  CCI_ASSIGN(toml, string_at(k["init_data"], "toml", "kubernetes.init_data"));
  CCI_ASSIGN(algorithm, string_at(k["init_data"], "algorithm", "kubernetes.init_data"));
  CCI_ASSIGN(recorded, string_at(k["init_data"], "digest", "kubernetes.init_data"));
  // The annotation must carry exactly the text whose digest the manifest records.
  CCI_ASSIGN(digest, init_data_digest(toml, algorithm));
  if (to_hex(digest) != recorded) {
    return make_error(ErrorCode::kVerificationFailed, "deployment manifest: kubernetes.init_data.digest is not the digest of its toml", "kubernetes.init_data");
  }
  CCI_ASSIGN(annotation, init_data_annotation(toml));

  std::string name = o.name.empty() ? predicate.value("name", "") : o.name;
  CCI_TRY(check_object_name(name, "name"));
  if (!o.ns.empty()) CCI_TRY(check_object_name(o.ns, "namespace"));

  auto meta = [&](const std::string& object_name) {
    Json m{{"name", object_name}};
    if (!o.ns.empty()) m["namespace"] = o.ns;
    m["labels"] = Json{{"app.kubernetes.io/name", name}, {"app.kubernetes.io/component", "cci-run-serve"}, {"app.kubernetes.io/managed-by", "cci"}};
    return m;
  };

  Json release_data{{"cci-manifest.json", o.manifest_text}};
  std::vector<std::string> args{"serve", "--tee", "auto", "--model", model_path, "--deployment", std::string(kReleaseDir) + "/cci-manifest.json"};
  if (!o.release_key_pem.empty()) {
    release_data["release.pub"] = o.release_key_pem;
    args.insert(args.end(), {"--release-key", std::string(kReleaseDir) + "/release.pub"});
  } else {
    if (o.trusted_root_json.empty() || o.keyless_args.empty()) return make_error(ErrorCode::kUsage, "a keyless release needs its signer and trusted root", "release");
    release_data["trusted_root.json"] = o.trusted_root_json;
    args.insert(args.end(), o.keyless_args.begin(), o.keyless_args.end());
    args.insert(args.end(), {"--trusted-root", std::string(kReleaseDir) + "/trusted_root.json"});
  }
  size_t bytes = 0;
  for (const auto& [key, v] : release_data.items()) bytes += v.get<std::string>().size();
  if (bytes > kMaxConfigMapBytes) {
    return make_error(ErrorCode::kUsage, "the signed manifest and its release material exceed what one ConfigMap holds (1 MiB)", "manifest");
  }
  args.insert(args.end(), {"--api-keys", std::string(kApiKeysDir) + "/api-keys", "--listen", "0.0.0.0:" + std::to_string(port)});
  if (k.contains("key_source") && k["key_source"].is_string() && !k["key_source"].get<std::string>().empty()) {
    args.insert(args.end(), {"--key-source", k["key_source"].get<std::string>()});
  }
  // The certificate names the Service (and, in a known namespace, its cluster DNS names and, for a
  // StatefulSet, each pod's own: POD.NAME.NS.svc.cluster.local). Clients check the key through
  // its evidence, not these names; they are there for TLS clients that want a matching name.
  args.insert(args.end(), {"--dns", name});
  if (!o.ns.empty()) {
    const std::string svc = name + "." + o.ns + ".svc";
    args.insert(args.end(), {"--dns", svc, "--dns", svc + ".cluster.local"});
    if (o.kind == "StatefulSet") args.insert(args.end(), {"--dns", "*." + svc + ".cluster.local"});
  }

  Json config_map{{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", meta(name + "-release")}, {"data", release_data}};
  Json service{{"apiVersion", "v1"},
               {"kind", "Service"},
               {"metadata", meta(name)},
               {"spec",
                {{"clusterIP", "None"},
                 {"selector", {{"app.kubernetes.io/name", name}}},
                 {"ports", Json::array({Json{{"name", "https"}, {"port", port}, {"targetPort", port}, {"protocol", "TCP"}}})}}}};
  Json container{{"name", "cci-run"},
                 {"image", image},
                 {"args", args},
                 {"ports", Json::array({Json{{"name", "https"}, {"containerPort", port}, {"protocol", "TCP"}}})},
                 {"readinessProbe", {{"tcpSocket", {{"port", port}}}, {"periodSeconds", 10}}},
                 {"securityContext", {{"allowPrivilegeEscalation", false}, {"readOnlyRootFilesystem", true}}},
                 {"volumeMounts", Json::array({Json{{"name", "release"}, {"mountPath", kReleaseDir}, {"readOnly", true}},
                                               Json{{"name", "api-keys"}, {"mountPath", kApiKeysDir}, {"readOnly", true}},
                                               Json{{"name", "tmp"}, {"mountPath", "/tmp"}}})}};
  Json pod_meta{{"labels", {{"app.kubernetes.io/name", name}, {"app.kubernetes.io/component", "cci-run-serve"}}},
                {"annotations", {{kInitDataAnnotation, annotation}}}};
  Json pod_spec{{"runtimeClassName", runtime_class},
                {"automountServiceAccountToken", false},
                {"enableServiceLinks", false},
                {"containers", Json::array({container})},
                {"volumes", Json::array({Json{{"name", "release"}, {"configMap", {{"name", name + "-release"}}}},
                                         Json{{"name", "api-keys"}, {"secret", {{"secretName", name + "-api-keys"}}}},
                                         // The root filesystem is read-only; scratch space stays in the guest's memory.
                                         Json{{"name", "tmp"}, {"emptyDir", {{"medium", "Memory"}, {"sizeLimit", "64Mi"}}}}})}};
  Json spec{{"replicas", o.replicas}, {"selector", {{"matchLabels", {{"app.kubernetes.io/name", name}}}}}};
  if (o.kind == "StatefulSet") spec["serviceName"] = name;
  spec["template"] = Json{{"metadata", pod_meta}, {"spec", pod_spec}};
  Json workload{{"apiVersion", "apps/v1"}, {"kind", o.kind}, {"metadata", meta(name)}, {"spec", spec}};

  std::string out;
  for (const Json* obj : {&config_map, &service, &workload}) {
    out += "---\n" + to_yaml(*obj) + "\n";
  }
  return out;
}

}  // namespace cci::kubernetes
