// cci-measure k8s MANIFEST --release-key KEY [-o FILE]: the Kubernetes objects that run a signed
// deployment as Confidential Containers pods (kubernetes/workload.h), and the reference values
// every replica must show: the launch measurement of each pod shape the manifest lists and the
// HOST_DATA (SEV-SNP) / MRCONFIGID (TDX) its init-data fixes. The manifest is verified first;
// everything rendered comes from it (docs/deploy-kubernetes.md).
#include <ctime>
#include <memory>

#include "base/file_io.h"
#include "cli/keyless.h"
#include "commands.h"
#include "kubernetes/workload.h"
#include "manifest/release.h"

namespace cci::tools::measure {
namespace {

struct K8sOptions {
  std::string manifest, release_key, output = "-", kind = "statefulset", name, ns;
  unsigned replicas = 3;
  cli::KeylessFlags release_keyless;
};

// One line per launch the pods may run as: platform, vCPUs and CPU model, the measurement.
cli::Json launch_shapes(const cli::Json& predicate) {
  cli::Json out = cli::Json::array();
  for (const auto& img : predicate.value("images", cli::Json::array())) {
    for (const auto& l : img.value("launch_measurements", cli::Json::array())) {
      cli::Json s{{"image", img.value("name", "")}, {"platform", l.value("platform", "")}};
      if (l.contains("vcpus")) s["vcpus"] = l["vcpus"];
      if (l.contains("vcpu_type")) s["vcpu_type"] = l["vcpu_type"];
      s["measurement"] = l.value("measurement", "");
      if (l.contains("mr_config_id")) s["mr_config_id"] = l["mr_config_id"];
      out.push_back(s);
    }
  }
  return out;
}

int run_k8s(const K8sOptions& o, const cli::Context& ctx) {
  const std::string schema = "cci.measure.k8s.v1";
  auto signer = cli::load_release_signer(o.release_key, o.release_keyless);
  if (!signer) return ctx.fail(signer.error(), schema);
  auto bytes = read_file(o.manifest, manifest::kMaxReleaseManifestBytes);
  if (!bytes) return ctx.fail(bytes.error(), schema);
  const std::string manifest_text(as_chars(*bytes));
  kubernetes::WorkloadOptions w;
  w.manifest_text = manifest_text;
  if (!signer->keyless()) {
    w.release_key_pem = std::string(as_chars(signer->key_pem));
  } else {
    const auto& f = o.release_keyless;
    if (!f.identity.empty()) w.keyless_args = {"--release-identity", f.identity};
    else w.keyless_args = {"--release-identity-regexp", f.identity_regexp};
    w.keyless_args.insert(w.keyless_args.end(), {"--release-issuer", f.issuer});
    w.trusted_root_json = std::string(as_chars(signer->trusted_root));
  }
  auto release = manifest::verify_release(std::move(*bytes), std::move(*signer), std::time(nullptr));
  if (!release) return ctx.fail(make_error(release.error().code, o.manifest + ": " + release.error().message, release.error().field), schema);
  if (release->kind != manifest::Release::Kind::kDeployment) {
    return ctx.fail(make_error(ErrorCode::kUsage, o.manifest + " is a model bundle: pods need a deployment manifest (cci-measure manifest build)", "manifest"), schema);
  }
  if (o.kind != "statefulset" && o.kind != "deployment") return ctx.fail(make_error(ErrorCode::kUsage, "--kind is statefulset or deployment", "kind"), schema);
  w.kind = o.kind == "statefulset" ? "StatefulSet" : "Deployment";
  w.replicas = o.replicas;
  w.name = o.name;
  w.ns = o.ns;
  const cli::Json& pred = release->deployment->predicate;
  auto yaml = kubernetes::render_workload(pred, w);
  if (!yaml) return ctx.fail(make_error(yaml.error().code, o.manifest + ": " + yaml.error().message, yaml.error().field), schema);
  const cli::Json& k = pred["kubernetes"];
  const cli::Json shapes = launch_shapes(pred);
  if (o.output != "-") {
    if (auto st = write_file_atomic(o.output, as_bytes(*yaml)); !st) return ctx.fail(st.error(), schema);
  }
  cli::Json summary{{"deployment", manifest::deployment_name(*release->deployment)},
                    {"runtime_class", k.value("runtime_class", "")},
                    {"replicas", o.replicas},
                    {"init_data", {{"algorithm", k["init_data"].value("algorithm", "")}, {"digest", k["init_data"].value("digest", "")}}},
                    {"snp_host_data", k["init_data"].value("snp_host_data", "")},
                    {"tdx_mr_config_id", k["init_data"].value("tdx_mr_config_id", "")},
                    {"launches", shapes}};
  if (o.output != "-") summary["file"] = o.output;
  if (ctx.options().json) {
    if (o.output == "-") summary["yaml"] = *yaml;
    ctx.out_json(schema, 0, summary);
    return 0;
  }
  if (o.output == "-") ctx.out(*yaml);
  else ctx.info("wrote " + o.output + " (ConfigMap, headless Service, " + w.kind + " with " + std::to_string(o.replicas) + " replicas)");
  // The reference values go to stderr when the YAML is on stdout, so `> pods.yaml` stays clean.
  auto note = [&](const std::string& line) {
    if (o.output == "-") ctx.info(line);
    else ctx.out(line);
  };
  note("init-data " + summary["init_data"]["algorithm"].get<std::string>() + ": " + summary["init_data"]["digest"].get<std::string>());
  note("expected SEV-SNP HOST_DATA: " + summary["snp_host_data"].get<std::string>());
  note("expected TDX MRCONFIGID:    " + summary["tdx_mr_config_id"].get<std::string>());
  for (const auto& s : shapes) {
    std::string line = "launch " + s["image"].get<std::string>() + " " + s["platform"].get<std::string>();
    if (s.contains("vcpus")) line += " vcpus=" + s["vcpus"].dump();
    if (s.contains("vcpu_type")) line += " " + s["vcpu_type"].get<std::string>();
    note(line + ": " + s["measurement"].get<std::string>());
  }
  return 0;
}

}  // namespace

void add_k8s(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<K8sOptions>();
  auto* sub = app.add_subcommand("k8s", "Render the Kubernetes objects that run a signed deployment as Confidential Containers pods");
  sub->footer(
      "The deployment manifest must come from a cci.yaml with a kubernetes: section (image pinned by digest,\n"
      "runtime class, key source, KBS URL); it records the pods' init-data, whose digest is the HOST_DATA (SEV-SNP)\n"
      "and MRCONFIGID (TDX) every replica's report must carry. From the verified manifest it writes:\n"
      "  ConfigMap NAME-release    the signed manifest and its release key (or Sigstore trusted root)\n"
      "  Service NAME              headless (clusterIP: None): clients reach and verify each replica itself\n"
      "  StatefulSet NAME          (or --kind deployment) with the Kata runtime class, the init-data annotation\n"
      "                            io.katacontainers.config.hypervisor.cc_init_data and cci-run serve\n"
      "The pods read their API keys from Secret NAME-api-keys (key api-keys; cci-run keys add), which it does not write.\n"
      "It prints the expected HOST_DATA / MRCONFIGID and the launch measurement of every pod shape (vCPUs, CPU model)\n"
      "the manifest lists. See docs/deploy-kubernetes.md.\n"
      "Examples:\n"
      "  cci-measure k8s cci-manifest.json --release-key release.pub -o pods.yaml --replicas 3\n"
      "  cci-measure k8s cci-manifest.json --release-key release.pub --kind deployment --namespace llm > pods.yaml");
  sub->add_option("MANIFEST", o->manifest, "The signed deployment manifest (cci-measure manifest build)")->required();
  sub->add_option("--release-key", o->release_key, "The public key it is signed with (PEM)");
  cli::add_keyless_flags(sub, o->release_keyless, "release-");
  sub->add_option("-o,--output", o->output, "Where the YAML goes ('-': stdout)")->capture_default_str();
  sub->add_option("--replicas", o->replicas, "Pods to run")->capture_default_str()->check(CLI::Range(1, 1000));
  sub->add_option("--kind", o->kind, "statefulset (stable pod names) or deployment")->capture_default_str()->check(CLI::IsMember({"statefulset", "deployment"}));
  sub->add_option("--name", o->name, "The objects' name (default: the deployment's name)");
  sub->add_option("--namespace", o->ns, "metadata.namespace (default: none, kubectl's current)");
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_k8s(*o, ctx); }; });
}

}  // namespace cci::tools::measure
