// cci-run cert: an attested TLS certificate (cci RA-TLS v1) for a fresh key, from the TEE's
// evidence (or a simulator, by name): claims bind the key, the manifest and the purpose; the
// report binds the claims. The key goes to --key-out (mode 0600) for TLS servers that read key
// files; cci-run serve keeps its key in memory instead.
#include <ctime>
#include <memory>

#include "attest/evidence_source.h"
#include "base/file_io.h"
#include "commands.h"
#include "crypto/digest.h"
#include "crypto/keys.h"
#include "ratls/attested_cert.h"
#include "attested_identity.h"

namespace cci::tools::run {
namespace {

struct CertCliOptions {
  attest::SourceOptions source;  // --tee and the device / simulator paths
  std::string manifest, out, key_out, purpose = "tls-server", deploy, common_name = "cci-run";
  std::vector<std::string> dns;
  double hours = 24;
};

int run_cert(const CertCliOptions& o, const cli::Context& ctx) {
  const std::string schema = "cci.run.cert.v1";
  if (o.key_out == "-") return ctx.fail(make_error(ErrorCode::kUsage, "the private key goes to a file only (--key-out FILE, mode 0600)", "key-out"), schema);
  if (o.out == "-" && ctx.options().json) {
    return ctx.fail(make_error(ErrorCode::kUsage, "--json and --out - would both write to standard output: name a file", "out"), schema);
  }
  if (!(o.hours > 0 && o.hours <= 24)) return ctx.fail(make_error(ErrorCode::kUsage, "--hours must be in (0, 24]", "hours"), schema);
  auto manifest = read_file(o.manifest, 64u << 20);
  if (!manifest) return ctx.fail(manifest.error(), schema);
  auto source = open_evidence_source(o.source, ctx);
  if (!source) return ctx.fail(source.error(), schema);
  auto key = crypto::generate_key(crypto::KeyType::kEcP384);
  if (!key) return ctx.fail(key.error(), schema);
  ratls::AttestedCertSpec spec;
  spec.common_name = o.common_name;
  spec.dns_names = o.dns;
  spec.not_before = std::time(nullptr) - 60;
  spec.not_after = spec.not_before + static_cast<std::time_t>(o.hours * 3600);
  auto issued = issue_attested_certificate(**source, *key, ratls::identity_claims(key->public_key(), *manifest, o.purpose, o.deploy), spec);
  if (!issued) return ctx.fail(issued.error(), schema);
  for (const auto& w : issued->warnings) ctx.warn(w);
  const auto& cert = issued->cert;
  auto key_pem = key->pem(std::nullopt);
  if (!key_pem) return ctx.fail(key_pem.error(), schema);
  if (auto st = write_file_atomic(o.key_out, as_bytes(*key_pem), 0600); !st) return ctx.fail(st.error(), schema);
  if (auto st = ctx.write_output(o.out, as_bytes(cert.pem())); !st) return ctx.fail(st.error(), schema);
  if (ctx.options().json) {
    ctx.out_json(schema, 0, cli::Json{{"result", "ok"}, {"certificate", o.out}, {"key", o.key_out}, {"tee", issued->tee}, {"simulated", issued->simulated}});
  } else {
    ctx.out("wrote " + std::string(issued->simulated ? "SIMULATED " : "") + "attested certificate " + o.out + " (key " + o.key_out + ", mode 0600)");
  }
  return 0;
}

}  // namespace

void add_cert(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<CertCliOptions>();
  auto* sub = app.add_subcommand("cert", "Make an attested TLS certificate (cci RA-TLS v1) for a fresh P-384 key");
  sub->footer(
      "The certificate carries the TEE's report in 2.23.133.5.4.9 (CBOR tag [report, claims]) and the\n"
      "platform's certificates in 2.23.133.5.4.2; the claims bind the key, the manifest's SHA-256 and the\n"
      "purpose, and REPORT_DATA = SHA-256(claims) || 0^32. Check it with cci-verify cert.\n"
      "Examples:\n"
      "  cci-run cert --manifest cci-manifest.json --out server.pem --key-out server.key --dns ai.example.com\n"
      "  cci-run cert --tee sim-snp --sim-dir ./sim --manifest m.json --out s.pem --key-out s.key");
  add_evidence_source_flags(sub, o->source);
  cli::add_alias(sub, sub->add_option("--deployment", o->manifest, "The signed manifest this deployment serves (its SHA-256 goes into the claims)")->required(), "--manifest", o->manifest);
  cli::add_alias(sub, sub->add_option("-o,--output", o->out, "Certificate (PEM) to write (- for standard output)")->required(), "--out", o->out);
  sub->add_option("--key-out", o->key_out, "Private key (PEM, mode 0600) to write")->required();
  sub->add_option("--purpose", o->purpose, "cci-purpose claim")->capture_default_str();
  sub->add_option("--deploy", o->deploy, "cci-deploy claim (deployment id)");
  sub->add_option("--dns", o->dns, "subjectAltName DNS name (repeatable)");
  sub->add_option("--cn", o->common_name, "Subject common name")->capture_default_str();
  sub->add_option("--hours", o->hours, "Validity in hours (at most 24)")->capture_default_str();
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_cert(*o, ctx); }; });
}

}  // namespace cci::tools::run
