// cci-measure kbs-artifacts MANIFEST --release-key KEY -o DIR: what a trustee operator installs so
// that its KBS releases the model key only to the VMs the signed deployment manifest names
// (kbs/artifacts.h). The manifest is verified first; the files are written into a new directory.
#include <sys/stat.h>

#include <ctime>
#include <filesystem>
#include <memory>

#include "base/file_io.h"
#include "cli/keyless.h"
#include "commands.h"
#include "kbs/artifacts.h"
#include "manifest/release.h"

namespace cci::tools::measure {
namespace {

struct KbsOptions {
  std::string manifest, release_key, output;
  cli::KeylessFlags release_keyless;
};

int run_kbs_artifacts(const KbsOptions& o, const cli::Context& ctx) {
  const std::string schema = "cci.measure.kbs-artifacts.v1";
  if (o.output.empty() || o.output == "-") return ctx.fail(make_error(ErrorCode::kUsage, "-o names a new directory (four files)", "output"), schema);
  auto signer = cli::load_release_signer(o.release_key, o.release_keyless);
  if (!signer) return ctx.fail(signer.error(), schema);
  auto bytes = read_file(o.manifest, manifest::kMaxReleaseManifestBytes);
  if (!bytes) return ctx.fail(bytes.error(), schema);
  auto release = manifest::verify_release(std::move(*bytes), std::move(*signer), std::time(nullptr));
  if (!release) return ctx.fail(make_error(release.error().code, o.manifest + ": " + release.error().message, release.error().field), schema);
  if (release->kind != manifest::Release::Kind::kDeployment) {
    return ctx.fail(make_error(ErrorCode::kUsage, o.manifest + " is a model bundle: the KBS needs a deployment manifest (its launch measurements)", "manifest"), schema);
  }
  const std::string name = manifest::deployment_name(*release->deployment);
  auto a = kbs::kbs_artifacts(release->deployment->predicate, "'" + name + "'");
  if (!a) return ctx.fail(a.error(), schema);
  std::error_code ec;
  if (std::filesystem::exists(o.output, ec)) return ctx.fail(make_error(ErrorCode::kUsage, o.output + " already exists: name a new directory", "output"), schema);
  if (::mkdir(o.output.c_str(), 0755) != 0) return ctx.fail(make_error(ErrorCode::kIo, "cannot create " + o.output + ": " + errno_text(errno), "output"), schema);
  std::vector<std::pair<std::string, const std::string*>> files{{"reference-values.json", &a->reference_values},
                                                                {"rvps-message.json", &a->rvps_message},
                                                                {"resource-policy.rego", &a->resource_policy}};
  if (!a->csv_attestation_policy.empty()) files.emplace_back("attestation-policy-csv.rego", &a->csv_attestation_policy);
  cli::Json written = cli::Json::array();
  for (const auto& [file, text] : files) {
    const std::string path = o.output + "/" + file;
    if (auto st = write_file_atomic(path, ByteView(reinterpret_cast<const std::uint8_t*>(text->data()), text->size())); !st) return ctx.fail(st.error(), schema);
    written.push_back(path);
  }
  if (ctx.options().json) {
    ctx.out_json(schema, 0, cli::Json{{"deployment", name}, {"files", written}, {"snp_measurements", a->snp_measurements}, {"csv_measurements", a->csv_measurements}, {"tdx_launches", a->tdx_measurements}});
    return 0;
  }
  for (const auto& f : written) ctx.out("wrote " + f.get<std::string>());
  ctx.info("install: rvps-tool register --path " + o.output + "/rvps-message.json; kbs-client config set-resource-policy --policy-file " + o.output +
           "/resource-policy.rego" + (a->csv_attestation_policy.empty() ? "" : "; merge attestation-policy-csv.rego into the attestation service's policy"));
  return 0;
}

}  // namespace

void add_kbs_artifacts(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<KbsOptions>();
  auto* sub = app.add_subcommand("kbs-artifacts", "Write what a trustee KBS needs to release the model key only to this deployment's VMs");
  sub->footer(
      "From the signed deployment manifest (verified with --release-key) it writes into the new directory -o:\n"
      "  reference-values.json        RVPS reference values: snp_launch_measurement (base64), csv_launch_measurement (hex)\n"
      "  rvps-message.json            the same as the RVPS 'sample' provenance message (rvps-tool register)\n"
      "  resource-policy.rego         the KBS resource policy: a listed launch measurement, debug and migration agent\n"
      "                               off, the TCB minimums, HOST_DATA when the policy pins it\n"
      "  attestation-policy-csv.rego  EAR trust claims for Hygon CSV (trustee's default policy has none)\n"
      "Then upload the key: kbs-client config set-resource --path default/llama/dek --resource-file dek.bin\n"
      "and start the server with cci-run serve --key-source kbs://KBS:8080/default/llama/dek --kbs-cert kbs.crt.\n"
      "Example:\n"
      "  cci-measure kbs-artifacts cci-manifest.json --release-key release.pub -o trustee/");
  sub->add_option("MANIFEST", o->manifest, "The signed deployment manifest (cci-measure manifest build)")->required();
  sub->add_option("--release-key", o->release_key, "The public key it is signed with (PEM)");
  cli::add_keyless_flags(sub, o->release_keyless, "release-");
  sub->add_option("-o,--output", o->output, "A new directory for the files")->required();
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_kbs_artifacts(*o, ctx); }; });
}

}  // namespace cci::tools::measure
