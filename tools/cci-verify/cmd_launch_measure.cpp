// cci-verify launch-measure: check a SEV / SEV-ES LAUNCH_MEASURE blob (the only attestation
// of pre-SNP guests) against the expected launch digest, with the guest owner's TIK.
#include <ctime>
#include <memory>

#include "base/file_io.h"
#include "base/hex.h"
#include "cli/inputs.h"
#include "cli/keyless.h"
#include "commands.h"
#include "crypto/random.h"
#include "launch/sev_launch_measure.h"
#include "manifest/deployment.h"
#include "manifest/release.h"

namespace cci::tools::verify {
namespace {

struct LaunchMeasureOptions {
  std::string measurement;
  std::string tik;
  unsigned api_major = 0, api_minor = 0, build = 0;
  std::string policy = "0";
  std::optional<std::string> expected_digest;
  std::optional<std::string> manifest;
  std::optional<std::string> manifest_key;
  cli::KeylessFlags release_keyless;
  std::optional<std::string> image;
};

// The blob as QEMU's query-sev-launch-measure returns it (base64), or hex, or "@FILE" raw.
Result<Bytes> read_blob(const std::string& text) {
  if (!text.empty() && text[0] == '@') return read_file(text.substr(1), 4096);
  if (text.size() == 2 * launch::kLaunchMeasureBlobSize) return hex_arg(text, "--blob", launch::kLaunchMeasureBlobSize);
  auto b = base64_decode(text, "--blob");
  if (!b) return make_error(ErrorCode::kMalformed, "--blob must be base64 (as QEMU prints it), 96 hex digits or @FILE", "blob");
  return b;
}

// The TIK file from the launch session: 16 raw bytes, or 32 hex digits.
Result<crypto::SecretBytes> read_tik(const std::string& path) {
  auto raw = read_file(path, 256);
  if (!raw) return raw.error();
  crypto::SecretBytes holder(std::move(*raw));
  ByteView v = holder.view();
  if (v.size() == launch::kTikSize) return crypto::SecretBytes(Bytes(v.begin(), v.end()));
  std::string_view text = as_chars(v);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  auto hex = from_hex(text, "TIK", launch::kTikSize);
  if (!hex) return make_error(ErrorCode::kInvalidInput, "the TIK file must hold 16 raw bytes or 32 hex digits", "tik");
  crypto::SecretBytes out(std::move(*hex));
  return out;
}

struct Candidate {
  std::string label;
  Bytes gld;
};

Result<std::vector<Candidate>> candidates(const LaunchMeasureOptions& o) {
  std::vector<Candidate> out;
  if (o.expected_digest) {
    auto d = hex_arg(*o.expected_digest, "--expected-digest", 32);
    if (!d) return make_error(ErrorCode::kUsage, d.error().message, "expected-digest");
    out.push_back({"--expected-digest", *d});
    return out;
  }
  auto signer = cli::load_release_signer(o.manifest_key.value_or(""), o.release_keyless);
  if (!signer) return signer.error();
  auto data = read_file(*o.manifest, manifest::kMaxManifestBytes);
  if (!data) return data.error();
  auto v = manifest::verify_deployment(*data, *signer, std::time(nullptr));
  if (!v) return v.error();
  for (const auto& img : v->predicate["images"]) {
    if (o.image && img["name"] != *o.image) continue;
    for (const auto& l : img["launch_measurements"]) {
      const std::string platform = l["platform"];
      if (platform != "sev" && platform != "seves") continue;
      auto d = from_hex(l["measurement"].get<std::string>(), "measurement", 32);
      if (!d) return make_error(ErrorCode::kMalformed, "manifest measurement is not 32 bytes", "measurement");
      out.push_back({img["name"].get<std::string>() + "/" + platform, *d});
    }
  }
  if (out.empty()) {
    return make_error(ErrorCode::kInvalidInput, "the manifest holds no sev or seves launch measurement" +
                                                    (o.image ? " for image " + *o.image : std::string()),
                      "manifest");
  }
  return out;
}

int run_launch_measure(const LaunchMeasureOptions& o, const cli::Context& ctx) {
  const std::string schema = "cci.verify.launch-measure.v1";
  if (o.expected_digest.has_value() == o.manifest.has_value()) {
    return ctx.fail(make_error(ErrorCode::kUsage, "give exactly one of --expected-digest HEX or --deployment FILE --release-key PUB"), schema);
  }
  if (o.manifest && !o.manifest_key && !o.release_keyless.given()) {
    return ctx.fail(make_error(ErrorCode::kUsage, "--deployment needs its signer: --release-key PUB (or --release-identity, --release-issuer, --trusted-root)"), schema);
  }
  if (o.api_major > 255 || o.api_minor > 255 || o.build > 255) {
    return ctx.fail(make_error(ErrorCode::kUsage, "--api-major, --api-minor and --build are bytes (0..255)"), schema);
  }
  auto policy = cli::parse_uint(o.policy, "--guest-policy", UINT32_MAX);
  if (!policy) return ctx.fail(policy.error(), schema);
  auto blob = read_blob(o.measurement);
  if (!blob) return ctx.fail(blob.error(), schema);
  auto tik = read_tik(o.tik);
  if (!tik) return ctx.fail(tik.error(), schema);
  auto cands = candidates(o);
  if (!cands) return ctx.fail(cands.error(), schema);

  launch::PlatformVersion pv{static_cast<std::uint8_t>(o.api_major), static_cast<std::uint8_t>(o.api_minor),
                             static_cast<std::uint8_t>(o.build)};
  std::optional<std::string> matched;
  Bytes mnonce;
  for (const auto& c : *cands) {
    auto r = launch::check_sev_launch_measure(*blob, tik->view(), pv, static_cast<std::uint32_t>(*policy), c.gld);
    if (!r) return ctx.fail(r.error(), schema);
    mnonce = r->mnonce;
    if (r->match && !matched) matched = c.label;
  }
  const int rc = matched ? 0 : 1;
  if (ctx.options().json) {
    cli::Json tried = cli::Json::array();
    for (const auto& c : *cands) tried.push_back({{"source", c.label}, {"launch_digest", to_hex(c.gld)}});
    cli::Json body{{"result", matched ? "pass" : "fail"}};
    if (!matched) body["reason"] = "VERIFICATION_FAILED";
    body["matched"] = matched ? cli::Json(*matched) : cli::Json();
    body["mnonce"] = to_hex(mnonce);
    body["policy"] = *policy;
    body["candidates"] = tried;
    ctx.out_json(schema, rc, body);
    return rc;
  }
  if (matched) {
    ctx.out(ctx.paint_ok(true) + "  LAUNCH_MEASURE matches " + *matched + " (policy 0x" + to_hex_u64(*policy) + ", mnonce " +
            to_hex(mnonce) + ")");
  } else {
    ctx.out(ctx.paint_ok(false) + "  LAUNCH_MEASURE matches none of " + std::to_string(cands->size()) +
            " expected launch digest(s); wrong firmware, kernel, command line, vCPU setup, policy, platform version or TIK");
  }
  return rc;
}

}  // namespace

void add_launch_measure(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<LaunchMeasureOptions>();
  auto* sub = app.add_subcommand("launch-measure", "Check a SEV / SEV-ES LAUNCH_MEASURE blob with the guest owner's TIK");
  sub->footer(
      "MEASURE = HMAC-SHA256(TIK, 0x04 || API_MAJOR || API_MINOR || BUILD || POLICY || GLD || MNONCE);\n"
      "GLD comes from the deployment manifest (its sev / seves launch measurements) or --expected-digest.\n"
      "Take --blob from QMP query-sev-launch-measure and the version and policy from query-sev.\n"
      "Examples:\n"
      "  cci-verify launch-measure --blob \"$(qmp query-sev-launch-measure | jq -r .data)\" \\\n"
      "      --tik vm_tik.bin --api-major 0 --api-minor 24 --build 15 --guest-policy 0x5 \\\n"
      "      --deployment cci-manifest.json --release-key release.pub\n"
      "  cci-verify launch-measure --blob @measure.bin --tik tik.hex --api-major 0 --api-minor 18 \\\n"
      "      --build 15 --expected-digest e5bcc918...");
  cli::add_alias(sub, sub->add_option("--blob", o->measurement, "MEASURE||MNONCE (48 bytes): base64, hex or @FILE")->required(), "--measurement", o->measurement);
  sub->add_option("--tik", o->tik, "File with the 16-byte TIK (raw or hex); wiped from memory after use")->required();
  sub->add_option("--api-major", o->api_major, "Firmware API major version")->required();
  sub->add_option("--api-minor", o->api_minor, "Firmware API minor version")->required();
  sub->add_option("--build", o->build, "Firmware build ID")->required();
  cli::add_alias(sub, sub->add_option("--guest-policy", o->policy, "Guest policy (decimal or 0x hex)")->capture_default_str(), "--policy", o->policy);
  sub->add_option("--expected-digest", o->expected_digest, "Expected guest launch digest (64 hex digits)");
  cli::add_alias(sub, sub->add_option("--deployment", o->manifest, "Deployment manifest holding the expected digests"), "--manifest", o->manifest);
  cli::add_alias(sub, sub->add_option("--release-key", o->manifest_key, "Public key that signed the manifest (PEM)"), "-k,--key", o->manifest_key);
  cli::add_keyless_flags(sub, o->release_keyless, "release-");
  sub->add_option("--image", o->image, "Only consider this image of the manifest");
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_launch_measure(*o, ctx); }; });
}

}  // namespace cci::tools::verify
