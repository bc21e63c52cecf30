// cci-measure manifest build cci.yaml: measure everything the YAML names and sign the
// deployment manifest (DSSE envelope around an in-toto Statement).
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "base/file_io.h"
#include "base/hex.h"
#include "cli/env.h"
#include "cli/inputs.h"
#include "cli/progress.h"
#include "commands.h"
#include "manifest/deployment.h"

namespace cci::tools::measure {
namespace {

namespace fs = std::filesystem;

struct ManifestOptions {
  std::string input;
  std::string key;
  std::string pass_file;
  std::string pkcs11_module;
  std::string output = "cci-manifest.json";
  std::string created;
  unsigned threads = 0;
  bool unsigned_statement = false;  // write the statement for a keyless signer instead of signing
};

// --created, else SOURCE_DATE_EPOCH (reproducible builds), else now.
Result<std::string> created_time(const std::string& flag) {
  if (!flag.empty()) {
    auto t = cli::parse_time(flag);
    if (!t) return t.error();
    return cli::format_time(*t);
  }
  if (const char* sde = std::getenv("SOURCE_DATE_EPOCH"); sde && *sde) {
    auto t = cli::parse_time(sde);
    if (!t) return make_error(ErrorCode::kUsage, "SOURCE_DATE_EPOCH is not a Unix time", "SOURCE_DATE_EPOCH");
    return cli::format_time(*t);
  }
  return cli::format_time(std::time(nullptr));
}

cli::Json summary(const manifest::BuiltManifest& m) {
  cli::Json s = cli::Json::array();
  for (const auto& img : m.predicate["images"]) {
    for (const auto& l : img["launch_measurements"]) {
      s.push_back({{"image", img["name"]}, {"platform", l["platform"]}, {"measurement", l["measurement"]}});
    }
  }
  return s;
}

int run_manifest_build(const ManifestOptions& o, const cli::Context& ctx) {
  const std::string schema = "cci.measure.manifest.v1";
  auto text = read_file(o.input, manifest::kMaxDeploymentYamlBytes);
  if (!text) return ctx.fail(text.error(), schema);
  auto in = manifest::parse_deployment_yaml(as_chars(*text), fs::path(o.input).parent_path().string(), o.input);
  if (!in) return ctx.fail(in.error(), schema);
  if (o.key.empty() != o.unsigned_statement) {
    return ctx.fail(make_error(ErrorCode::kUsage, "give --key (a manifest signed with the release key) or --unsigned (the statement, to sign keylessly)"), schema);
  }
  std::optional<crypto::PrivateKey> key;
  if (!o.unsigned_statement) {
    auto k = cli::load_signing_key(o.key, o.pass_file, o.pkcs11_module);  // before any hashing
    if (!k) return ctx.fail(k.error(), schema);
    key = std::move(*k);
  }
  auto created = created_time(o.created);
  if (!created) return ctx.fail(created.error(), schema);

  cli::Progress progress(ctx.progress_enabled(), "measuring", 0);
  manifest::BuildOptions bo;
  bo.threads = o.threads;
  bo.created = *created;
  bo.cancel = &ctx.interrupted();
  bo.on_step = [&ctx](const std::string& s) { ctx.verbose(s); };
  bo.on_bytes = [&progress](std::uint64_t n) { progress.add(n); };
  auto built = manifest::build_deployment(*in, bo);
  progress.finish();
  if (!built) return ctx.fail(built.error(), schema);
  for (const auto& w : built->warnings) ctx.warn(w);
  // --unsigned: the statement's exact bytes, the DSSE payload a keyless signer signs.
  Result<std::string> envelope = key ? manifest::sign_envelope(built->statement, *key) : Result<std::string>(built->statement);
  if (!envelope) return ctx.fail(envelope.error(), schema);
  auto st = ctx.write_output(o.output, as_bytes(*envelope), 0644);
  if (!st) return ctx.fail(st.error(), schema);

  if (ctx.options().json) {
    ctx.out_json(schema, 0,
                 cli::Json{{"result", "ok"}, {"manifest", o.output}, {"name", in->name}, {"launch_measurements", summary(*built)},
                           {"predicate", built->predicate}});
    return 0;
  }
  ctx.out("wrote " + (o.output == "-" ? std::string("the manifest to standard output") : o.output) + " (deployment '" + in->name + "')");
  if (built->predicate.contains("model")) {
    ctx.out("  model " + built->predicate["model"]["name"].get<std::string>() + "  sha256:" +
            built->predicate["model"]["root_digest"]["sha256"].get<std::string>());
  }
  for (const auto& s : summary(*built)) {
    ctx.out("  image " + s["image"].get<std::string>() + "  " + s["platform"].get<std::string>() + "  " +
            s["measurement"].get<std::string>());
  }
  for (const auto& d : built->predicate["disks"]) {
    std::string line = "  disk " + d["name"].get<std::string>() + "  sha256:" + d["digest"]["sha256"].get<std::string>();
    if (d.contains("verity")) line += "  verity root " + d["verity"]["root_hash"].get<std::string>();
    ctx.out(line);
  }
  return 0;
}

}  // namespace

void add_manifest(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto* group = app.add_subcommand("manifest", "Build the signed deployment manifest (model + launch measurements + disks + policy)");
  group->require_subcommand(1);
  auto o = std::make_shared<ManifestOptions>();
  o->threads = cli::env_threads();
  auto* sub = group->add_subcommand("build", "Measure what cci.yaml names and write the signed manifest");
  sub->footer(
      "The output is a DSSE envelope (JSON) around an in-toto Statement with predicateType\n"
      "https://cci.dev/deployment-manifest/v1; format and JSON schema: manifests/README.md.\n"
      "The YAML is read strictly: unknown or duplicate keys and wrong types are errors with the line.\n"
      "Relative paths in it are relative to the YAML file.\n"
      "Examples:\n"
      "  cci-measure manifest build cci.yaml --key release.key\n"
      "  SOURCE_DATE_EPOCH=0 cci-measure manifest build examples/cci.yaml --key release.key -o demo.manifest.json\n"
      "Check with: cci-verify manifest cci-manifest.json --release-key release.pub");
  sub->add_option("input", o->input, "Deployment description (YAML)")->required();
  sub->add_option("-k,--key", o->key, "Signing key: PEM file or pkcs11: URI");
  sub->add_flag("--unsigned", o->unsigned_statement,
                "Write the in-toto statement itself (the DSSE payload) for a keyless signer (docs/keyless-signing.md), instead of signing");
  sub->add_option("--key-pass-file", o->pass_file, "Passphrase file for an encrypted key (else CCI_KEY_PASSWORD)");
  sub->add_option("--pkcs11-module", o->pkcs11_module, "PKCS#11 module (else CCI_PKCS11_MODULE)");
  sub->add_option("-o,--output", o->output, "Manifest output file (written atomically; - for standard output)")->capture_default_str();
  sub->add_option("--created", o->created, "Creation time to record (default: SOURCE_DATE_EPOCH or now)");
  sub->add_option("-j,--threads", o->threads, "Hashing threads (default: CCI_THREADS or all CPUs)");
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_manifest_build(*o, ctx); }; });
}

}  // namespace cci::tools::measure
