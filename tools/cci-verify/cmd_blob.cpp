// cci-verify blob FILE: check a file against a Sigstore bundle (keyless) or a Rekor log entry,
// offline. The library (common/sigstore) decides; this file parses flags and prints.
#include <memory>

#include "base/file_io.h"
#include "base/hex.h"
#include "cli/inputs.h"
#include "cli/keyless.h"
#include "commands.h"
#include "rekor_flags.h"
#include "crypto/digest.h"
#include "sigstore/bundle.h"
#include "sigstore/rekor_entry.h"

namespace cci::tools::verify {
namespace {

inline constexpr size_t kMaxBlobBytes = size_t{1} << 30;  // read whole: signatures are over the bytes

struct BlobOptions {
  std::string file;
  std::string bundle;
  std::string rekor_entry;
  std::string rekor_key;
  std::string key;
  std::string at = "now";
  cli::KeylessFlags keyless;
};

int run_bundle(const BlobOptions& o, const Bytes& artifact, std::time_t now, const cli::Context& ctx) {
  const std::string schema = "cci.verify.blob.v1";
  auto k = cli::load_keyless(o.keyless);
  if (!k) return ctx.fail(k.error(), schema);
  auto bytes = read_file(o.bundle, sigstore::kMaxBundleBytes);
  if (!bytes) return ctx.fail(bytes.error(), schema);
  auto b = sigstore::parse_bundle(*bytes);
  if (!b) return ctx.fail(Error::make(b.error().code, o.bundle + ": " + b.error().message, b.error().field), schema);
  auto v = sigstore::verify_bundle(*b, *k->root, k->signer, ByteView(artifact), now);
  if (!v) return ctx.fail(Error::make(v.error().code, o.bundle + ": " + v.error().message + " (" + v.error().field + ")", v.error().field), schema);
  if (ctx.options().json) {
    cli::Json checks = cli::Json::array(), times = cli::Json::array();
    for (const auto& c : v->checks) checks.push_back({{"id", c.id}, {"status", "pass"}, {"detail", c.detail}});
    for (const auto t : v->times) times.push_back(cli::format_time(t));
    ctx.out_json(schema, 0,
                 cli::Json{{"result", "pass"}, {"artifact", o.file}, {"sha256", to_hex(crypto::digest(crypto::DigestAlg::kSha256, artifact))},
                           {"bundle", o.bundle}, {"media_type", b->media_type},
                           {"signer", {{"identity", v->signer.san}, {"identity_kind", v->signer.san_kind}, {"issuer", v->signer.issuer}, {"signed_at", times}}},
                           {"checks", checks}});
    return 0;
  }
  for (const auto& c : v->checks) ctx.out(ctx.paint_ok(true) + "  " + c.id + ": " + c.detail);
  ctx.out("verified: " + o.file + " signed by " + v->signer.san + " (issuer " + v->signer.issuer + ") at " + cli::format_time(v->times.front()));
  return 0;
}

int run_entry(const BlobOptions& o, const Bytes& artifact, const cli::Context& ctx) {
  const std::string schema = "cci.verify.blob.v1";
  std::optional<crypto::PublicKey> signer;
  if (!o.key.empty()) {
    auto k = cli::load_public_key_file(o.key);
    if (!k) return ctx.fail(k.error(), schema);
    signer = std::move(*k);
  }
  auto v = check_rekor_entry(o.rekor_entry, o.keyless.trusted_root, o.rekor_key, artifact, signer ? &*signer : nullptr);
  if (!v) return ctx.fail(v.error(), schema);
  if (ctx.options().json) {
    ctx.out_json(schema, 0,
                 cli::Json{{"result", "pass"}, {"artifact", o.file}, {"sha256", to_hex(crypto::digest(crypto::DigestAlg::kSha256, artifact))},
                           {"rekor_entry", o.rekor_entry}, {"kind", v->kind}, {"log_index", v->log_index},
                           {"integrated_time", cli::format_time(v->integrated_time)}, {"inclusion_proof", v->proof_checked},
                           {"signer_key", v->signer->pem()}, {"signer_matched", signer.has_value()}});
    return 0;
  }
  ctx.out(ctx.paint_ok(true) + "  sigstore.tlog_set: the log's signed entry timestamp covers logIndex " + std::to_string(v->log_index));
  if (v->proof_checked) ctx.out(ctx.paint_ok(true) + "  sigstore.tlog_inclusion: included under a checkpoint signed by the log");
  ctx.out(ctx.paint_ok(true) + "  sigstore.tlog_body: the logged " + v->kind + " is this file's SHA-256, signed by the logged key" +
          (signer ? " (the key in " + o.key + ")" : ""));
  ctx.out("verified: " + o.file + " is in the log at index " + std::to_string(v->log_index) + " since " + cli::format_time(v->integrated_time) +
          (v->proof_checked ? "" : " (no inclusion proof in the entry: the log's promise only)"));
  if (!signer) ctx.info("note: the logged signer was not compared with a key you trust: give --key PUB");
  return 0;
}

int run_blob(const BlobOptions& o, const cli::Context& ctx) {
  const std::string schema = "cci.verify.blob.v1";
  if (o.bundle.empty() == o.rekor_entry.empty()) {
    return ctx.fail(make_error(ErrorCode::kUsage, "give --bundle B.sigstore.json (a Sigstore bundle) or --rekor-entry E.json (a Rekor log entry)"), schema);
  }
  auto now = cli::parse_time(o.at);
  if (!now) return ctx.fail(now.error(), schema);
  auto artifact = read_file(o.file, kMaxBlobBytes);
  if (!artifact) return ctx.fail(artifact.error(), schema);
  return o.bundle.empty() ? run_entry(o, *artifact, ctx) : run_bundle(o, *artifact, *now, ctx);
}

}  // namespace

void add_blob(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<BlobOptions>();
  auto* sub = app.add_subcommand("blob", "Verify a file against a keyless Sigstore bundle or a Rekor log entry, offline");
  sub->footer(
      "A Sigstore bundle (v0.1-v0.3, messageSignature or DSSE): the Rekor entry (SET, inclusion proof,\n"
      "signed checkpoint, body), RFC 3161 timestamps, the Fulcio certificate at the signing time with\n"
      "its SCT, the signer's exact identity and issuer, the signature (docs/keyless-signing.md).\n"
      "A Rekor entry (the API's JSON for one entry, or cosign's rekor bundle): the SET, the inclusion\n"
      "proof and checkpoint when present, the logged hash and signature over the file; --key names the\n"
      "signer you trust.\n"
      "Examples:\n"
      "  cci-verify blob release.tar --bundle release.tar.sigstore.json --identity ci@example.com \\\n"
      "      --issuer https://accounts.google.com --trusted-root trusted_root.json\n"
      "  cci-verify blob deployment.json --rekor-entry deployment.rekor.json --trusted-root trusted_root.json --key release.pub");
  sub->add_option("FILE", o->file, "The signed file")->required();
  sub->add_option("--bundle", o->bundle, "Sigstore bundle (JSON)");
  sub->add_option("--rekor-entry", o->rekor_entry, "Rekor log entry (JSON)");
  sub->add_option("--rekor-key", o->rekor_key, "Rekor entries: the log's public key (PEM), instead of --trusted-root");
  sub->add_option("--key", o->key, "Rekor entries: the public key (PEM) the logged signature must be by");
  sub->add_option("--at", o->at, "The verifier's clock: no verified signing time may be later (now, Unix seconds, RFC 3339)")->capture_default_str();
  cli::add_keyless_flags(sub, o->keyless);
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_blob(*o, ctx); }; });
}

}  // namespace cci::tools::verify
