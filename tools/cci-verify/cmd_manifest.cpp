// cci-verify manifest FILE --release-key PUB: check a deployment manifest's signature and print it.
#include <yaml-cpp/yaml.h>

#include <memory>

#include "base/file_io.h"
#include "cli/inputs.h"
#include "commands.h"
#include "manifest/deployment.h"

namespace cci::tools::verify {
namespace {

struct ManifestOptions {
  std::string file;
  std::string key;
};

void emit(YAML::Emitter& e, const cli::Json& j) {
  if (j.is_object()) {
    e << YAML::BeginMap;
    for (const auto& [k, v] : j.items()) {
      e << YAML::Key << k << YAML::Value;
      emit(e, v);
    }
    e << YAML::EndMap;
  } else if (j.is_array()) {
    e << YAML::BeginSeq;
    for (const auto& v : j) emit(e, v);
    e << YAML::EndSeq;
  } else if (j.is_string()) {
    e << YAML::DoubleQuoted << j.get<std::string>();
  } else {
    e << j.dump();  // numbers, booleans, null
  }
}

int run_manifest(const ManifestOptions& o, const cli::Context& ctx) {
  const std::string schema = "cci.verify.manifest.v1";
  auto key = cli::load_public_key_file(o.key);
  if (!key) return ctx.fail(key.error(), schema);
  auto data = read_file(o.file, manifest::kMaxManifestBytes);
  if (!data) return ctx.fail(data.error(), schema);
  auto v = manifest::verify_deployment_manifest(*data, *key);
  if (!v) {
    auto e = v.error();
    e.message = o.file + ": " + e.message;
    return ctx.fail(e, schema);
  }
  if (ctx.options().json) {
    ctx.out_json(schema, 0,
                 cli::Json{{"result", "pass"}, {"manifest", o.file}, {"key_hint", v->key_hint},
                           {"subject", v->statement["subject"]}, {"predicate", v->predicate}});
    return 0;
  }
  ctx.info(ctx.paint_ok(true, false) + "  signature by key " + v->key_hint);
  cli::Json doc{{"verified", true}, {"manifest", o.file}, {"key_hint", v->key_hint}};
  for (const auto& [k, val] : v->predicate.items()) doc[k] = val;
  doc["subject"] = v->statement["subject"];
  YAML::Emitter e;
  emit(e, doc);
  ctx.out(e.c_str());
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
      "  cci-verify manifest cci-manifest.json --release-key release.pub --json | jq '.predicate.images[].launch_measurements'");
  sub->add_option("FILE", o->file, "Deployment manifest (DSSE envelope JSON)")->required();
  cli::add_alias(sub, sub->add_option("--release-key", o->key, "The release public key (PEM)")->required(), "-k,--key", o->key);
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_manifest(*o, ctx); }; });
}

}  // namespace cci::tools::verify
