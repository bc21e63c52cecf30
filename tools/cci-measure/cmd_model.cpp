// cci-measure model DIR: hash a model directory and write a signed OMS bundle.
#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>

#include "base/file_io.h"
#include "base/hex.h"
#include "cli/env.h"
#include "cli/inputs.h"
#include "cli/progress.h"
#include "commands.h"
#include "manifest/incremental.h"
#include "manifest/model_signing.h"
#include "manifest/oms.h"

namespace cci::tools::measure {
namespace {
namespace fs = std::filesystem;

struct ModelOptions {
  std::string dir;
  std::string key;
  std::string pass_file;
  std::string pkcs11_module;
  std::vector<std::string> certificate_chain;
  std::string output = "model.sig";
  std::vector<std::string> ignore;
  bool no_git_ignores = false;
  bool allow_symlinks = false;
  std::string hash = "sha256";
  std::uint64_t shard_size = 0;
  unsigned threads = 0;
  bool print_digest = false;
  std::string incremental;  // previous bundle whose unchanged digests are reused
};

// The incremental state lives next to its bundle.
std::string state_path(const std::string& bundle) { return bundle + ".state"; }

// The ignore list recorded in the bundle: git metadata, the user's paths and the output
// file when it lies inside the model directory (as the reference CLI does).
Result<std::vector<std::string>> ignore_list(const ModelOptions& o) {
  std::vector<std::string> out;
  if (!o.no_git_ignores) out = manifest::default_git_ignores();
  for (const auto& p : o.ignore) {
    auto n = manifest::normalize_ignore_path(o.dir, p);
    if (!n) return n.error();
    out.push_back(*n);
  }
  if (!o.print_digest && o.output != "-") {
    auto sig = manifest::normalize_ignore_path(o.dir, fs::absolute(o.output).string());
    if (sig) out.push_back(*sig);
  }
  return out;
}

cli::Json digest_json(const manifest::ModelDigest& d) {
  cli::Json res = cli::Json::array();
  for (const auto& r : d.resources) res.push_back({{"name", r.name}, {"algorithm", r.algorithm}, {"digest", to_hex(r.digest)}});
  return res;
}

int run_model(const ModelOptions& o, const cli::Context& ctx) {
  const std::string schema = "cci.measure.model.v1";
  if (!o.print_digest && o.key.empty()) {
    return ctx.fail(make_error(ErrorCode::kUsage, "give a signing key with --key (or --print-digest to sign nothing)"), schema);
  }
  if (!fs::exists(o.dir)) return ctx.fail(make_error(ErrorCode::kIo, "model path " + o.dir + " does not exist"), schema);
  auto ignores = ignore_list(o);
  if (!ignores) return ctx.fail(ignores.error(), schema);

  // Load the key first: a wrong key should not cost an hour of hashing.
  std::optional<crypto::PrivateKey> key;
  std::vector<Bytes> chain;
  if (!o.print_digest) {
    auto k = cli::load_signing_key(o.key, o.pass_file, o.pkcs11_module);
    if (!k) return ctx.fail(k.error(), schema);
    key = std::move(*k);
    if (!o.certificate_chain.empty()) {
      auto certs = cli::load_certificates(o.certificate_chain);
      if (!certs) return ctx.fail(certs.error(), schema);
      for (const auto& c : *certs) chain.push_back(c.der());
    }
  }

  if (o.output == "-" && ctx.options().json && !o.print_digest) {
    return ctx.fail(make_error(ErrorCode::kUsage, "--json and -o - would both write to standard output: name a file with -o"), schema);
  }
  if (!o.incremental.empty()) {
    if (o.print_digest) return ctx.fail(make_error(ErrorCode::kUsage, "--incremental signs: it cannot be combined with --print-digest"), schema);
    if (o.output == "-") return ctx.fail(make_error(ErrorCode::kUsage, "--incremental writes a state file next to the bundle: name the bundle with -o FILE"), schema);
    // A state file inside the model would be hashed as part of it next time.
    if (manifest::normalize_ignore_path(o.dir, fs::absolute(state_path(o.output)).string())) {
      return ctx.fail(make_error(ErrorCode::kUsage, "with --incremental the bundle's state file (" + state_path(o.output) +
                                                        ") would lie inside the model directory: write the bundle (-o) outside " + o.dir),
                      schema);
    }
  }

  manifest::ModelSource src{o.dir, *ignores, o.allow_symlinks};
  manifest::HashConfig cfg;
  cfg.hash = *crypto::digest_from_name(o.hash);
  if (o.shard_size > 0) {
    cfg.method = manifest::Method::kShards;
    cfg.shard_size = o.shard_size;
  }
  cfg.threads = o.threads;
  cfg.cancel = &ctx.interrupted();
  auto files = manifest::list_model_files(src.dir, {src.ignore, src.allow_symlinks});
  if (!files) return ctx.fail(files.error(), schema);
  std::uint64_t total = 0;
  for (const auto& f : *files) total += f.size;
  ctx.verbose("hashing " + std::to_string(files->size()) + " files, " + cli::human_bytes(double(total)));
  // --incremental: digests of files unchanged since the previous bundle are taken from it.
  manifest::IncrementalPlan plan;
  bool have_previous = false;
  if (!o.incremental.empty()) {
    if (!fs::exists(o.incremental)) {
      ctx.info("no previous bundle " + o.incremental + " yet: hashing every file");
    } else {
      auto old = read_file(o.incremental, manifest::oms::kMaxBundleBytes);
      if (!old) return ctx.fail(old.error(), schema);
      auto state = read_file(state_path(o.incremental), manifest::oms::kMaxBundleBytes);
      if (!state) {
        return ctx.fail(make_error(ErrorCode::kIo, "cannot read " + state_path(o.incremental) +
                                                       ", the state written with it by a previous --incremental run: sign once in full with --incremental " +
                                                       o.incremental + " pointing at the new bundle"),
                        schema);
      }
      auto p = manifest::plan_incremental(*old, as_chars(*state), key->public_key(), *files, cfg);
      if (!p) return ctx.fail(p.error(), schema);
      plan = std::move(*p);
      have_previous = true;
      if (!plan.note.empty()) ctx.info(plan.note);
      cfg.known = &plan.known;
    }
  }
  cli::Progress progress(ctx.progress_enabled(), "hashing", total);
  cfg.on_bytes = [&progress](std::uint64_t n) { progress.add(n); };

  auto t0 = std::chrono::steady_clock::now();
  manifest::ModelDigest digest;
  std::string bundle;
  if (o.print_digest) {
    auto d = manifest::hash_model(*files, cfg);
    progress.finish();
    if (!d) return ctx.fail(d.error(), schema);
    digest = std::move(*d);
  } else {
    auto signed_model = manifest::sign_model(src, *files, cfg, *key, chain);
    progress.finish();
    if (!signed_model) return ctx.fail(signed_model.error(), schema);
    digest = std::move(signed_model->digest);
    bundle = std::move(signed_model->bundle_json);
  }
  if (auto st = manifest::check_reused_unchanged(*files, plan); !st) return ctx.fail(st.error(), schema);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!bundle.empty()) {
    auto s = ctx.write_output(o.output, as_bytes(bundle), 0644);
    if (!s) return ctx.fail(s.error(), schema);
    if (!o.incremental.empty()) {
      s = write_file_atomic(state_path(o.output), as_bytes(manifest::incremental_state(*files, cfg, as_bytes(bundle))), 0644);
      if (!s) return ctx.fail(s.error(), schema);
    }
  }
  std::string root = to_hex(digest.root);
  if (ctx.options().json) {
    cli::Json body{{"result", "ok"},
                   {"model", o.dir},
                   {"root_digest", {{"sha256", root}}},
                   {"method", manifest::method_name(cfg.method)},
                   {"hash", o.hash},
                   {"files", files->size()},
                   {"bytes", digest.total_bytes},
                   {"seconds", secs}};
    if (!bundle.empty()) body["signature"] = o.output;
    if (!o.incremental.empty()) {
      body["incremental"] = {{"previous", have_previous ? cli::Json(o.incremental) : cli::Json(nullptr)},
                             {"files_reused", plan.reused.size()},
                             {"bytes_reused", plan.bytes_reused},
                             {"state", state_path(o.output)}};
    }
    body["resources"] = digest_json(digest);
    ctx.out_json(schema, 0, body);
    return 0;
  }
  if (have_previous) {
    ctx.info("reused the digests of " + std::to_string(plan.reused.size()) + " of " + std::to_string(files->size()) + " files (" +
             cli::human_bytes(double(plan.bytes_reused)) + ") from " + o.incremental + "; hashed the rest");
  }
  double rate = secs > 0 ? double(digest.total_bytes - plan.bytes_reused) / secs : 0;
  ctx.info("hashed " + std::to_string(files->size()) + " files (" + cli::human_bytes(double(digest.total_bytes)) + ") in " +
           std::to_string(secs).substr(0, 5) + " s, " + cli::human_bytes(rate) + "/s");
  if (o.print_digest) {
    ctx.out(root);
  } else {
    ctx.out("signed " + o.dir + " (" + std::to_string(digest.resources.size()) + " resources, root sha256:" + root + ")");
    ctx.out("wrote " + (o.output == "-" ? std::string("the bundle to standard output") : o.output));
  }
  return 0;
}

}  // namespace

void add_model(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<ModelOptions>();
  o->threads = cli::env_threads();
  auto* sub = app.add_subcommand("model", "Hash every file of a model directory and write a signed OMS bundle");
  sub->footer(
      "The bundle is a Sigstore bundle v0.3 holding a DSSE envelope around an in-toto Statement with\n"
      "predicateType https://model_signing/signature/v1.0, as sigstore model-transparency writes it.\n"
      "Examples:\n"
      "  cci-measure model ./tinyllama --key release.key                    # writes ./model.sig\n"
      "  cci-measure model ./tinyllama --key release.key --shard-size 1000000000 -o tinyllama.sig\n"
      "  cci-measure model ./tinyllama --key 'pkcs11:token=release;object=model-key' \\\n"
      "      --pkcs11-module /usr/lib/softhsm/libsofthsm2.so                 # key stays in the HSM\n"
      "  cci-measure model ./tinyllama --print-digest                       # root digest only\n"
      "  cci-measure model ./tinyllama --key release.key -o m.sig --incremental m.sig\n"
      "      # re-hashes only files whose size, inode, mtime or ctime changed since m.sig (state in\n"
      "      # m.sig.state); the statement signed is the one a full sign writes\n"
      "Verify with: cci-verify model ./tinyllama --signature model.sig --release-key release.pub");
  sub->add_option("DIR", o->dir, "Model directory (or a single file)")->required();
  sub->add_option("-k,--key", o->key, "Signing key: PEM file (ECDSA P-256/P-384) or pkcs11: URI");
  sub->add_option("--key-pass-file", o->pass_file, "Passphrase of an encrypted key, first line of FILE [or CCI_KEY_PASSWORD]");
  sub->add_option("--pkcs11-module", o->pkcs11_module, "PKCS#11 module for pkcs11: keys")->envname("CCI_PKCS11_MODULE");
  sub->add_option("--certificate-chain", o->certificate_chain,
                  "PEM certificates, signing certificate first: write a certificate bundle instead of a key bundle");
  sub->add_option("-o,--output", o->output, "Bundle to write (replaced atomically; - for standard output)")->capture_default_str();
  sub->add_option("--ignore", o->ignore, "Path to leave out, relative to DIR (repeatable; a directory leaves out its tree)");
  sub->add_flag("--no-ignore-git-paths", o->no_git_ignores, "Also hash .git, .gitattributes, .github, .gitignore");
  sub->add_flag("--allow-symlinks", o->allow_symlinks, "Follow symbolic links and hash their targets under the link name");
  sub->add_option("--hash", o->hash, "Per-file digest")->check(CLI::IsMember({"sha256", "blake2b"}))->capture_default_str();
  sub->add_option("--shard-size", o->shard_size, "Use shard serialization with shards of BYTES (reference default 1000000000)")
      ->check(CLI::PositiveNumber);
  sub->add_option("-j,--threads", o->threads, "Hashing threads (default: all CPUs) [env: CCI_THREADS]");
  sub->add_flag("--print-digest", o->print_digest, "Print the model's root digest (hex) and sign nothing");
  sub->add_option("--incremental", o->incremental,
                  "Re-hash only files changed since OLD.sig (signed with this key); write OUTPUT.state for the next run");
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_model(*o, ctx); }; });
}

}  // namespace cci::tools::measure
