// cci-verify manifest FILE --release-key PUB: check a deployment manifest's signature and print it.

#include <memory>

#include "base/file_io.h"
#include "cli/inputs.h"
#include "cli/keyless.h"
#include "commands.h"
#include "kubernetes/yaml_text.h"
#include "rekor_flags.h"
#include "manifest/deployment.h"

namespace cci::tools::verify {
namespace {

struct ManifestOptions {
  std::string file;
  std::string key;
  std::string rekor_bundle, rekor_key;  // the manifest's Rekor entry and the log's key (or keyless.trusted_root)
  cli::KeylessFlags keyless;  // a keyless manifest's signer, instead of key
};

int run_manifest(const ManifestOptions& o, const cli::Context& ctx) {
  const std::string schema = "cci.verify.manifest.v1";
  if (o.key.empty() == !o.keyless.given()) {
    return ctx.fail(make_error(ErrorCode::kUsage, "give the manifest's signer: --release-key PUB.pem, or --identity ID --issuer URL --trusted-root FILE"),
                    schema);
  }
  auto data = read_file(o.file, manifest::kMaxManifestBytes);
  if (!data) return ctx.fail(data.error(), schema);
  std::optional<crypto::PublicKey> key;
  Result<manifest::VerifiedManifest> v = Error::make(ErrorCode::kInternal, "unset");
  if (!o.key.empty()) {
    auto k = cli::load_public_key_file(o.key);
    if (!k) return ctx.fail(k.error(), schema);
    key = std::move(*k);
    v = manifest::verify_deployment_manifest(*data, *key);
  } else {
    auto k = cli::load_keyless(o.keyless);
    if (!k) return ctx.fail(k.error(), schema);
    v = manifest::verify_keyless_deployment_manifest(*data, *k->root, k->signer, std::time(nullptr));
  }
  if (!v) {
    auto e = v.error();
    e.message = o.file + ": " + e.message;
    return ctx.fail(e, schema);
  }
  // The release pipeline's Rekor entry for these exact bytes, signed with the release key.
  std::optional<sigstore::LoggedArtifact> logged;
  if (!o.rekor_bundle.empty()) {
    if (!key) return ctx.fail(make_error(ErrorCode::kUsage, "--rekor-bundle checks a manifest signed with the release key (a keyless one carries its entry)"), schema);
    auto l = check_rekor_entry(o.rekor_bundle, o.keyless.trusted_root, o.rekor_key, *data, &*key);
    if (!l) return ctx.fail(l.error(), schema);
    logged = std::move(*l);
  } else if (!o.rekor_key.empty() || (key && !o.keyless.trusted_root.empty())) {
    return ctx.fail(make_error(ErrorCode::kUsage, "--trusted-root and --rekor-key check a Rekor entry: give it with --rekor-bundle FILE"), schema);
  }
  if (ctx.options().json) {
    cli::Json body{{"result", "pass"}, {"manifest", o.file}, {"key_hint", v->key_hint}, {"subject", v->statement["subject"]}, {"predicate", v->predicate}};
    if (v->signer) body["signer"] = {{"identity", v->signer->san}, {"identity_kind", v->signer->san_kind}, {"issuer", v->signer->issuer}};
    if (logged) {
      body["transparency_log"] = {{"log_index", logged->log_index}, {"integrated_time", cli::format_time(logged->integrated_time)},
                                  {"kind", logged->kind}, {"inclusion_proof", logged->proof_checked}};
    }
    ctx.out_json(schema, 0, body);
    return 0;
  }
  ctx.info(ctx.paint_ok(true, false) + (v->signer ? "  signed keylessly by " + v->signer->san + " (issuer " + v->signer->issuer + ")" : "  signature by key " + v->key_hint));
  if (logged) {
    ctx.info(ctx.paint_ok(true, false) + "  in the transparency log at index " + std::to_string(logged->log_index) + " since " +
             cli::format_time(logged->integrated_time) + (logged->proof_checked ? " (inclusion proof and signed checkpoint checked)" : " (the log's signed promise)"));
  }
  cli::Json doc{{"verified", true}, {"manifest", o.file}, {"key_hint", v->key_hint}};
  for (const auto& [k, val] : v->predicate.items()) doc[k] = val;
  doc["subject"] = v->statement["subject"];
  ctx.out(kubernetes::to_yaml(doc));
  return 0;
}

}  // namespace

void add_manifest(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<ManifestOptions>();
  auto* sub = app.add_subcommand("manifest", "Verify a signed deployment manifest and print it (YAML, or --json)");
  sub->footer(
      "Checks the DSSE envelope strictly (no unknown fields, one signature whose keyid is the given\n"
      "key's hint), the signature over the exact payload bytes, then the in-toto statement type,\n"
      "predicate type and schema version. Any altered byte makes it fail with exit status 1.\n"
      "Examples:\n"
      "  cci-verify manifest cci-manifest.json --release-key release.pub\n"
      "  cci-verify manifest cci-manifest.json --release-key release.pub --json | jq '.predicate.images[].launch_measurements'\n"
      "  cci-verify manifest cci-manifest.json --release-key release.pub --rekor-bundle cci-manifest.rekor.json \\\n"
      "      --trusted-root trusted_root.json   # logged by the pipeline: cosign sign-blob --key release.key --bundle ...");
  sub->add_option("FILE", o->file, "Deployment manifest (DSSE envelope JSON)")->required();
  cli::add_alias(sub, sub->add_option("--release-key", o->key, "The release public key (PEM)"), "-k,--key", o->key);
  cli::add_keyless_flags(sub, o->keyless);
  sub->add_option("--rekor-bundle", o->rekor_bundle,
                  "The manifest's Rekor entry (the API's JSON, or cosign's rekor bundle): the manifest must be in the log, signed by the release key");
  sub->add_option("--rekor-key", o->rekor_key, "--rekor-bundle: the log's public key (PEM), instead of --trusted-root");
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_manifest(*o, ctx); }; });
}

}  // namespace cci::tools::verify
