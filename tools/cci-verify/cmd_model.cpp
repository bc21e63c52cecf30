// cci-verify model DIR: check a model directory against an OMS bundle.
#include <filesystem>
#include <memory>

#include "base/file_io.h"
#include "base/hex.h"
#include "cli/env.h"
#include "cli/inputs.h"
#include "cli/keyless.h"
#include "cli/progress.h"
#include "commands.h"
#include "manifest/model_signing.h"

namespace cci::tools::verify {
namespace {
namespace fs = std::filesystem;

struct ModelOptions {
  std::string dir;
  std::string signature = "model.sig";
  std::string key;
  std::vector<std::string> certificate_chain;
  cli::KeylessFlags keyless;
  std::vector<std::string> ignore;
  bool ignore_unsigned_files = false;
  std::string at = "now";
  unsigned threads = 0;
};

int run_model(const ModelOptions& o, const cli::Context& ctx) {
  const std::string schema = "cci.verify.model.v1";
  if (int(!o.key.empty()) + int(!o.certificate_chain.empty()) + int(o.keyless.given()) != 1) {
    return ctx.fail(make_error(ErrorCode::kUsage,
                               "give exactly one of --release-key PUB.pem (key bundles), --certificate-chain CA.pem (certificate bundles) or "
                               "--identity/--issuer (keyless Sigstore bundles)"),
                    schema);
  }
  auto at = cli::parse_time(o.at);
  if (!at) return ctx.fail(at.error(), schema);
  if (!fs::exists(o.dir)) return ctx.fail(make_error(ErrorCode::kIo, "model path " + o.dir + " does not exist"), schema);

  manifest::VerifyModelOptions vo;
  vo.source.dir = o.dir;
  for (const auto& p : o.ignore) {
    auto n = manifest::normalize_ignore_path(o.dir, p);
    if (!n) return ctx.fail(n.error(), schema);
    vo.source.ignore.push_back(*n);
  }
  // The bundle itself never belongs to the model.
  if (auto sig = manifest::normalize_ignore_path(o.dir, fs::absolute(o.signature).string())) vo.source.ignore.push_back(*sig);
  vo.ignore_unsigned_files = o.ignore_unsigned_files;
  vo.at = *at;
  vo.threads = o.threads;
  if (!o.key.empty()) {
    auto k = cli::load_public_key_file(o.key);
    if (!k) return ctx.fail(k.error(), schema);
    vo.public_key = std::move(*k);
  } else if (o.keyless.given()) {
    auto k = cli::load_keyless(o.keyless);
    if (!k) return ctx.fail(k.error(), schema);
    vo.trusted_root = k->root;
    vo.signer = k->signer;
  } else {
    auto certs = cli::load_certificates(o.certificate_chain);
    if (!certs) return ctx.fail(certs.error(), schema);
    vo.trust_anchors = std::move(*certs);
  }
  auto bundle = read_file(o.signature, manifest::oms::kMaxBundleBytes);
  if (!bundle) return ctx.fail(bundle.error(), schema);

  cli::Progress progress(ctx.progress_enabled(), "verifying", 0);
  vo.on_start = [&progress](std::uint64_t total) { progress.set_total(total); };
  vo.on_bytes = [&progress](std::uint64_t n) { progress.add(n); };
  auto v = manifest::verify_model(*bundle, vo);
  progress.finish();
  if (!v) {
    auto e = v.error();
    e.message = o.signature + ": " + e.message;
    return ctx.fail(e, schema);
  }
  int rc = v->passed ? 0 : 1;
  if (ctx.options().json) {
    cli::Json checks = cli::Json::array();
    for (const auto& c : v->checks) checks.push_back({{"id", c.id}, {"status", c.passed ? "pass" : "fail"}, {"detail", c.detail}});
    // Every file: the matching ones ("ok") and each problem, in path order.
    std::vector<std::pair<std::string, std::string>> all;
    for (const auto& name : v->matching_files) all.emplace_back(name, "ok");
    for (const auto& f : v->files) all.emplace_back(f.name, manifest::file_finding_name(f.kind));
    std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    cli::Json files = cli::Json::array();
    for (const auto& [name, status] : all) files.push_back({{"status", status}, {"name", name}});
    cli::Json body{{"result", v->passed ? "pass" : "fail"}, {"model", o.dir}, {"signature", o.signature}};
    if (!v->passed) body["reason"] = "VERIFICATION_FAILED";
    body["checks"] = checks;
    body["files"] = files;
    if (!v->statement.subject_sha256.empty()) body["root_digest"] = {{"sha256", to_hex(v->statement.subject_sha256)}};
    if (v->signer) {
      cli::Json times = cli::Json::array();
      for (const auto t : v->signed_at) times.push_back(cli::format_time(t));
      body["signer"] = {{"identity", v->signer->san}, {"identity_kind", v->signer->san_kind}, {"issuer", v->signer->issuer}, {"signed_at", times}};
    }
    ctx.out_json(schema, rc, body);
    return rc;
  }
  for (const auto& c : v->checks) ctx.out(ctx.paint_ok(c.passed) + "  " + c.id + ": " + c.detail);
  for (const auto& f : v->files) {
    const char* what = f.kind == manifest::FileFinding::Kind::kMismatch ? "content differs from the signature"
                       : f.kind == manifest::FileFinding::Kind::kMissing ? "signed but missing"
                                                                           : "present but not signed (see --ignore-unsigned-files)";
    ctx.out("  " + std::string(manifest::file_finding_name(f.kind)) + ": " + f.name + " (" + what + ")");
  }
  if (v->passed) {
    ctx.out("verified: " + o.dir + " matches " + o.signature + " (root sha256:" + to_hex(v->statement.subject_sha256) + ")" +
            (v->signer ? ", signed by " + v->signer->san + " (issuer " + v->signer->issuer + ")" : ""));
  } else {
    // Name what failed: the signer (a key or certificate that is not the bundle's), the bundle
    // itself, or the files.
    std::string first;
    for (const auto& c : v->checks) {
      if (!c.passed && first.empty()) first = c.id;
    }
    const std::string anchor = o.key.empty() ? "the given certificate chain" : "the key in " + o.key;
    if (first.rfind("sigstore.", 0) == 0) {
      ctx.error(o.signature + ": the keyless signature does not verify (" + first + "); the files were not checked");
    } else if (first == "oms.key_hint" || first == "oms.key_match" || first == "oms.signature") {
      ctx.error(o.signature + " is not signed by " + anchor + " (" + first + "); the files were not checked");
    } else if (first == "oms.certificate_chain" || first == "oms.certificate_usage") {
      ctx.error(o.signature + ": its signing certificate does not chain to " + anchor + " (" + first + "); the files were not checked");
    } else if (first == "oms.files") {
      ctx.error(o.dir + " does not match " + o.signature + ": " + std::to_string(v->files.size()) + " file(s) differ");
    } else {
      ctx.error(o.signature + " is not a valid bundle (" + first + ")");
    }
  }
  return rc;
}

}  // namespace

void add_model(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<ModelOptions>();
  o->threads = cli::env_threads();
  auto* sub = app.add_subcommand("model", "Verify a model directory against an OMS signature bundle");
  sub->footer(
      "Checks, in order: payload type, key hint or certificate chain, DSSE signature over the exact\n"
      "statement bytes, statement type and predicate, subject digest over the listed resources, then\n"
      "every file's digest recomputed with the bundle's serialization (files or shards, sha256 or blake2b).\n"
      "Every mismatching, missing and extra file is named.\n"
      "Keyless (Sigstore) bundles: the Rekor entry (signed entry timestamp, inclusion proof, signed\n"
      "checkpoint, body), RFC 3161 timestamps, the Fulcio certificate at the signing time with its SCT,\n"
      "the signer's exact identity and issuer, all offline against the trusted root given.\n"
      "Examples:\n"
      "  cci-verify model ./tinyllama --signature model.sig --release-key release.pub\n"
      "  cci-verify model ./tinyllama --signature model.sig --certificate-chain int-ca.pem --certificate-chain ca.pem\n"
      "  cci-verify model ./tinyllama --release-key release.pub --ignore-unsigned-files --json\n"
      "  cci-verify model ./tinyllama --identity releases@example.com --issuer https://accounts.google.com \\\n"
      "      --trusted-root trusted_root.json");
  sub->add_option("DIR", o->dir, "Model directory (or single file)")->required();
  sub->add_option("-s,--signature", o->signature, "OMS bundle to check")->capture_default_str();
  cli::add_alias(sub, sub->add_option("--release-key", o->key, "Public key (PEM) for key bundles"), "-k,--key", o->key);
  sub->add_option("--certificate-chain", o->certificate_chain,
                  "Trusted CA certificates (PEM, repeatable) for certificate bundles");
  cli::add_keyless_flags(sub, o->keyless);
  sub->add_option("--ignore", o->ignore, "Extra path to leave out, relative to DIR (repeatable)");
  sub->add_flag("--ignore-unsigned-files", o->ignore_unsigned_files, "Do not fail on files the bundle does not list");
  sub->add_option("--at", o->at, "Time for certificate validity: now, Unix seconds or RFC 3339")->capture_default_str();
  sub->add_option("-j,--threads", o->threads, "Hashing threads (default: all CPUs) [env: CCI_THREADS]");
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_model(*o, ctx); }; });
}

}  // namespace cci::tools::verify
