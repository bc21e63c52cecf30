// cci-verify remote: checks a live cci-run serve endpoint before anything is sent to it
// (docs/architecture.md "Attested TLS"; docs/security.md, the promise end to end):
//   1. TLS 1.3 only; the server's certificate is read from the handshake;
//   2. the certificate: self-signed, CA:FALSE, at most 24 h, one evidence extension, strict CBOR,
//      pubkey-hash = its own key; claims: purpose, deployment id, manifest digest (and the
//      manifest's own signature);
//   3. freshness: a random nonce goes to POST /v1/attestation/fresh; the answer's claims must
//      repeat the certificate's and carry our nonce and this connection's TLS exporter value
//      (a recorded answer, or one relayed from another connection, fails here);
//   4. the fresh report through the whole report pipeline (vendor chain, policy, measurement,
//      REPORT_DATA = SHA-256(fresh claims) || 0^32).
//   5. with --provision-key, and only when the verdict accepts: the model's key, on this very
//      connection, bound to its exporter value (POST /v1/attestation/model-key).
// On success it prints the certificate's public-key pin for curl --pinnedpubkey. Nothing but the
// nonce (and, when asked, the model key after the verdict) is ever sent (no API key, no prompt).
// Replicas (several URLs, --all-replicas, --connections): every connection is checked on its own,
// since each may reach another server; a key verified on an earlier connection of the run needs no
// second verification, a new key gets the whole one (client::VerifiedKeys). Each connection is
// reported with the replica it reached (its address, or through a balancer its key's pin).
#include <signal.h>

#include <algorithm>
#include <memory>

#include "attested_checks.h"
#include "base/hex.h"
#include "cli/inputs.h"
#include "client/attested_client.h"
#include "client/verifier.h"
#include "commands.h"
#include "report_common.h"
#include "sealed/key_file.h"

namespace cci::tools::verify {
namespace {

using cli::ExitCode;
using cli::to_int;

struct RemoteOptions {
  ReportOptions report;
  ExpectedClaims expect;
  std::vector<std::string> urls;
  double timeout = 30;
  std::string provision_key;  // the model's key, sent only once the verdict accepts
  bool all_replicas = false;  // every address each URL's host resolves to
  unsigned connections = 1;   // connections per target (through a balancer: maybe other replicas)
};

// One connection checked whole (steps 2-5 of the header); `loud`: the steps go to the terminal
// as they pass (a single server), else only the replica's line is printed by the caller.
struct Checked {
  ReportOptions report;  // the options as the verdict was made (extra: the remote section)
  appraise::Verdict verdict;
  bool key_provisioned = false;
  cli::Json provisioned;  // the server's answer to the key
};

Error labelled(const client::Endpoint& e, const Error& err) { return make_error(err.code, e.label() + ": " + err.message, err.field); }

Result<Checked> verify_connection(RemoteOptions o, const client::Endpoint& e, client::Connection& c, const std::optional<crypto::SecretBytes>& key,
                                  const cli::Context& ctx, bool loud) {
  auto info = [&](const std::string& m) {
    if (loud) ctx.info(m);
  };
  CCI_ASSIGN(at, cli::parse_time(o.report.at));
  auto attested = ratls::read_attested_certificate(*c.cert, at);
  if (!attested) return labelled(e, attested.error());
  std::optional<Bytes> served;
  if (o.report.manifest.empty()) {
    auto m = client::fetch_manifest(*c.tls, e);
    if (!m) return labelled(e, m.error());
    served = std::move(*m);
  }
  CCI_TRY(check_claims(attested->claims, o.expect, o.report, served));
  info("certificate: " + c.tls->protocol() + ", self-signed, CA:FALSE, key bound by pubkey-hash, purpose " + attested->claims.purpose);
  cli::Json manifest_json = nullptr;
  if (o.report.release) {
    const auto& rel = *o.report.release;
    const bool deployment = rel.kind == manifest::Release::Kind::kDeployment;
    const std::string name = deployment ? manifest::deployment_name(*rel.deployment) : rel.model.subject_name;
    info(std::string("manifest: ") + (deployment ? "deployment '" + name + "'" : "model bundle '" + name + "' (names no VM)") + ", signed by " +
         o.report.release->signer.describe() + ", named by the claims (sha256:" + to_hex(attested->claims.manifest_sha256) + ")");
    manifest_json = cli::Json{{"kind", deployment ? "deployment" : "model-bundle"}, {"name", name}, {"sha256", to_hex(attested->claims.manifest_sha256)}};
  }
  auto fresh = client::fetch_fresh(*c.tls, e, *attested);
  if (!fresh) return labelled(e, fresh.error());
  if (!key) c.tls->close_notify();
  info("fresh evidence: bound to our nonce and to this TLS connection (exporter)");
  Checked out;
  o.report.file = "https://" + e.label();
  o.report.report_data = to_hex(ratls::report_data_for_claims(fresh->evidence.claims));
  o.report.extra = cli::Json{{"remote", {{"url", o.report.file}, {"pin", c.pin}, {"tls", "TLSv1.3"}, {"fresh", true}, {"manifest", manifest_json}}}};
  if (!e.address.empty()) o.report.extra["remote"]["address"] = e.address;
  if (const auto& ks = attested->claims.key_source) {
    // An encrypted model: where the server's model key comes from is attested with the rest.
    o.report.extra["remote"]["key_source"] = *ks;
    if (*ks == "file") ctx.warn(e.label() + ": the server's model key comes from a file (--key-source file://, development only): the model is not confidential on it");
    else info("model key source: " + *ks);
  }
  o.report.extra_lines = {"pin: " + c.pin + "   (curl --pinnedpubkey '" + c.pin + "' -k https://" + e.label() + "/v1/...)"};
  if (fresh->gpu) {
    info("GPU evidence: named by the fresh claims (cci-gpu), its request nonces derived from ours and this connection's exporter");
    o.report.extra["remote"]["gpu_evidence_sha256"] = to_hex(*fresh->claims.gpu_sha256);
  }
  CCI_ASSIGN(doc, client::evidence_document(fresh->evidence.tag, fresh->evidence.evidence, attested->endorsements));
  CCI_ASSIGN(cpu, appraise_bytes(cpu_only(o.report), std::move(doc), ctx));
  // One verdict over the CPU TEE and its GPUs (or over their absence, when the policy expects some).
  CCI_SET(out.verdict, with_fresh_gpus(o.report, std::move(cpu), std::move(fresh->gpu), fresh->gpu_nonce, ctx));
  if (key && out.verdict.outcome == appraise::Outcome::kAccepted) {
    info("verified: sending the model key; the server decrypts and checks the model before it answers (about a second per GiB)");
    auto sent = client::provision_key(*c.tls, e, *key);
    if (!sent) return labelled(e, sent.error());
    c.tls->close_notify();
    out.key_provisioned = true;
    out.provisioned = std::move(*sent);
  }
  if (key) o.report.extra["remote"]["key_provisioned"] = out.key_provisioned;
  out.report = std::move(o.report);
  return out;
}

int run_single(const RemoteOptions& o, const client::Endpoint& e, std::optional<crypto::SecretBytes> key, const cli::Context& ctx) {
  const std::string schema = "cci.verify.report.v1";
  auto c = client::connect(e, o.timeout);
  if (!c) return ctx.fail(c.error(), schema);
  const bool had_key = key.has_value();
  auto checked = verify_connection(o, e, *c, key, ctx, true);
  key.reset();
  if (!checked) return ctx.fail(checked.error(), schema);
  if (had_key && !checked->key_provisioned) ctx.warn("the model key was NOT sent: the server did not verify");
  if (checked->key_provisioned) {
    ctx.info("model key: provisioned over this verified connection; the server decrypted and checked " + std::to_string(checked->provisioned.value("files", 0)) +
             " files in " + std::to_string(checked->provisioned.value("seconds", 0.0)).substr(0, 5) + " s");
  }
  return print_verdict(checked->report, checked->verdict, ctx);
}

// Several servers, or several connections through a balancer: one line per connection, one exit code.
int run_replicas(const RemoteOptions& o, const std::vector<client::Endpoint>& targets, const std::optional<crypto::SecretBytes>& key, const cli::Context& ctx) {
  const std::string schema = "cci.verify.replicas.v1";
  client::VerifiedKeys verified;
  // One line per connection: stdout in text mode, stderr beside --json (stdout is the document).
  auto say = [&ctx](const std::string& line) {
    if (ctx.options().json) ctx.info(line);
    else ctx.out(line);
  };
  cli::Json rows = cli::Json::array();
  int refused = 0, failed = 0, fresh_verifications = 0, connections = 0;
  ExitCode worst = ExitCode::kOk;
  for (const auto& e : targets) {
    for (unsigned i = 0; i < o.connections; ++i) {
      ++connections;
      cli::Json row{{"target", e.label()}, {"connection", connections}};
      auto c = client::connect(e, o.timeout);
      if (!c) {
        ++failed;
        worst = std::max(worst, cli::exit_code_for(c.error().code));
        row["outcome"] = "error";
        row["message"] = c.error().message;
        ctx.error("replica " + e.label() + ": " + c.error().message);
        rows.push_back(row);
        continue;
      }
      row["pin"] = c->pin;
      const std::string who = "replica " + e.label() + " (key " + c->pin + ")";
      if (verified.contains(c->pin)) {
        // The key is one this run verified (evidence bound to it, fresh on its own connection).
        c->tls->close_notify();
        row["outcome"] = "verified-before";
        say(who + ": the key of a replica verified on an earlier connection");
        rows.push_back(row);
        continue;
      }
      ++fresh_verifications;
      auto checked = verify_connection(o, e, *c, key, ctx, false);
      if (!checked) {
        const ExitCode code = cli::exit_code_for(checked.error().code);
        (code == ExitCode::kRejected ? refused : failed) += 1;
        worst = std::max(worst, code);
        row["outcome"] = code == ExitCode::kRejected ? "refused" : "error";
        row["message"] = checked.error().message;
        ctx.error(who + ": REFUSED: " + checked.error().message);
      } else if (checked->verdict.outcome != appraise::Outcome::kAccepted) {
        const bool missing = checked->verdict.outcome == appraise::Outcome::kMissingCollateral;
        (missing ? failed : refused) += 1;
        worst = std::max(worst, missing ? ExitCode::kCannotEvaluate : ExitCode::kRejected);
        row["outcome"] = missing ? "cannot-evaluate" : "refused";
        row["message"] = client::first_failed_check(checked->verdict);
        row["measurement"] = checked->verdict.measurement_hex;
        ctx.error(who + ": REFUSED: " + row["message"].get<std::string>() + (key ? " (the model key was NOT sent)" : ""));
      } else {
        verified.add(c->pin);
        row["outcome"] = "verified";
        row["what"] = checked->verdict.what;
        row["simulated"] = checked->verdict.simulated;
        row["measurement"] = checked->verdict.measurement_hex;
        if (key) row["key_provisioned"] = checked->key_provisioned;
        say(who + ": verified" + std::string(checked->verdict.simulated ? " SIMULATED" : "") + ": " + checked->verdict.what +
                (key ? ", model key provisioned" : ""));
      }
      rows.push_back(row);
    }
  }
  // Refusals outrank errors: a replica that fails verification is the finding.
  const int rc = refused ? to_int(ExitCode::kRejected) : to_int(worst);
  const std::string summary = std::to_string(connections) + " connection(s) to " + std::to_string(targets.size()) + " target(s): " +
                              std::to_string(verified.size()) + " replica key(s) verified, " + std::to_string(refused) + " refused, " +
                              std::to_string(failed) + " could not be checked";
  if (ctx.options().json) {
    ctx.out_json(schema, rc, cli::Json{{"connections", connections}, {"targets", targets.size()}, {"verifications", fresh_verifications},
                                       {"keys_verified", verified.size()}, {"refused", refused}, {"errors", failed}, {"replicas", rows}});
  } else if (rc == 0) {
    ctx.out("verified: " + summary);
  } else {
    ctx.error(summary);
  }
  return rc;
}

int run_remote(RemoteOptions o, const cli::Context& ctx) {
  ::signal(SIGPIPE, SIG_IGN);  // a server that hangs up is an error naming the step, not a silent death
  const bool several = o.urls.size() > 1 || o.all_replicas || o.connections > 1;
  const std::string schema = several ? "cci.verify.replicas.v1" : "cci.verify.report.v1";
  std::vector<client::Endpoint> targets;
  for (const auto& url : o.urls) {
    auto e = client::parse_url(url);
    if (!e) return ctx.fail(e.error(), schema);
    if (o.all_replicas) {
      auto all = client::resolve_replicas(*e);
      if (!all) return ctx.fail(all.error(), schema);
      targets.insert(targets.end(), all->begin(), all->end());
    } else {
      targets.push_back(*e);
    }
  }
  if (auto at = cli::parse_time(o.report.at); !at) return ctx.fail(at.error(), schema);
  // The key is read before anything is sent: a missing or short file is a usage error, not a surprise after the verdict.
  std::optional<crypto::SecretBytes> key;
  if (!o.provision_key.empty()) {
    auto k = sealed::read_key_file(o.provision_key, "provision-key", [&ctx](const std::string& m) { ctx.warn(m); });
    if (!k) return ctx.fail(k.error(), schema);
    key = std::move(*k);
  }
  if (!several) return run_single(o, targets.front(), std::move(key), ctx);
  if (targets.size() > 1) ctx.info(std::to_string(targets.size()) + " targets: each connection verified on its own");
  return run_replicas(o, targets, key, ctx);
}

}  // namespace

void add_remote(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<RemoteOptions>();
  auto* sub = app.add_subcommand("remote", "Verify a live cci-run serve endpoint (attested TLS + fresh evidence) and print its key pin");
  sub->footer(
      "All it needs is the URL and the release public key. It connects with TLS 1.3, reads the attested\n"
      "certificate (cci RA-TLS v1) and checks it as cci-verify cert does; fetches the signed manifest the server\n"
      "was started with (GET /v1/attestation/manifest, or --deployment FILE), requires its SHA-256 to be the\n"
      "certificate's cci-manifest claim and its signature to verify with --release-key; sends a random nonce to\n"
      "POST /v1/attestation/fresh and requires evidence whose claims carry that nonce and this connection's TLS\n"
      "exporter value; then checks that report: vendor chain, REPORT_DATA = SHA-256(claims) || 0^32, and the\n"
      "deployment manifest's policy (TCB minimums, debug, ...) with a MEASUREMENT it lists. A server with confidential\n"
      "GPUs (cci-run serve --gpu) sends their evidence with the fresh answer: its SHA-256 must be the claims' cci-gpu,\n"
      "each GPU's request nonce SHA-256(\"cci-gpu-nonce\" || nonce || exporter), and it is appraised as cci-verify\n"
      "report appraises GPU evidence (--driver-rim, --vbios-rim), in the same verdict. A server started from\n"
      "a plain model bundle names no VM: then --measurement is required (or --insecure-any-measurement).\n"
      "Only the nonce is sent. On success the last line is the certificate's pin, for clients that pin keys:\n"
      "  curl --pinnedpubkey 'sha256//...' -k https://HOST:PORT/v1/models -H 'Authorization: Bearer KEY'\n"
      "Examples:\n"
      "  cci-verify remote https://10.0.0.5:8443 --release-key release.pub\n"
      "  cci-verify remote https://127.0.0.1:8443 --release-key release.pub \\\n"
      "      --trust-sim-root ./sim --offline --insecure-no-crl --json | jq -r .remote.pin");
  sub->add_option("URL", o->urls, "https://HOST:PORT of the server (several: each replica, verified one by one)")->required();
  sub->add_flag("--all-replicas", o->all_replicas,
                "Verify every address each URL's host name resolves to (a headless Service: one per replica), each on its own connection");
  sub->add_option("--connections", o->connections,
                  "Connections per target, each verified (through a load balancer each may reach another replica; a key verified "
                  "earlier in the run is not verified again)")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  sub->add_option("--server-timeout", o->timeout, "Seconds to wait for the server at each step")->capture_default_str();
  sub->add_option("--provision-key", o->provision_key,
                  "An encrypted model's key (32 bytes, cci-measure encrypt --dek-out; - for standard input): sent to a server that "
                  "waits sealed, on this connection, only once every check passed");
  add_attested_flags(sub, o->report, o->expect);
  sub->add_option("--driver-rim", o->report.driver_rims, "NVIDIA GPUs behind the server: a driver RIM (repeatable; docs/nvidia-gpu.md)");
  sub->add_option("--vbios-rim", o->report.vbios_rims, "NVIDIA GPUs behind the server: a VBIOS RIM (repeatable)");
  sub->add_option("--ocsp", o->report.ocsp,
                  "NVIDIA GPUs behind the server: an OCSP response (DER) for a device-chain or RIM-signer certificate (repeatable; "
                  "docs/nvidia-gpu.md)");
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_remote(*o, ctx); }; });
}

}  // namespace cci::tools::verify
