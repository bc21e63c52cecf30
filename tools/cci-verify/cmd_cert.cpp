// cci-verify cert: an attested TLS certificate (cci RA-TLS v1, e.g. saved from a cci-run serve
// endpoint) checked offline: the certificate itself (self-signature, CA:FALSE, at most 24 h, one
// evidence extension, strict CBOR, pubkey-hash = its own key), the claims (purpose, manifest
// digest, deployment id), then the report it carries through the whole `cci-verify report`
// pipeline with REPORT_DATA required to be SHA-256(claims) || 0^32.
#include <memory>

#include "evidence/evidence_file.h"
#include "base/file_io.h"
#include "base/hex.h"
#include "cli/inputs.h"
#include "commands.h"
#include "crypto/digest.h"
#include "crypto/random.h"
#include "ratls/attested_cert.h"
#include "attested_checks.h"
#include "client/attested_client.h"
#include "report_common.h"

namespace cci::tools::verify {
namespace {

struct CertOptions {
  ReportOptions report;
  ExpectedClaims expect;
};

int run_cert(CertOptions o, const cli::Context& ctx) {
  const std::string schema = "cci.verify.report.v1";
  auto certs = cli::load_certificates({o.report.file});
  if (!certs) return ctx.fail(certs.error(), schema);
  auto at = cli::parse_time(o.report.at);
  if (!at) return ctx.fail(at.error(), schema);
  auto a = ratls::read_attested_certificate((*certs)[0], *at);
  if (!a) return ctx.fail(make_error(a.error().code, o.report.file + ": " + a.error().message, a.error().field), schema);
  if (auto st = check_claims(a->claims, o.expect, o.report); !st) return ctx.fail(st.error(), schema);
  if (!o.report.report_data.empty() || !o.report.nonce.empty()) {
    return ctx.fail(make_error(ErrorCode::kUsage, "the certificate fixes REPORT_DATA (the claims' hash): --report-data and --nonce do not apply"), schema);
  }
  o.report.report_data = to_hex(ratls::report_data_for_claims(a->evidence.claims));
  ctx.info("certificate: self-signed, CA:FALSE, valid at " + cli::format_time(*at) + ", key bound by pubkey-hash, purpose " + a->claims.purpose +
           (o.report.release ? ", the claims name " + o.report.release_label + ", signed by " + o.report.release->signer.describe() : ", manifest NOT checked"));
  auto doc = client::evidence_document(a->evidence.tag, a->evidence.evidence, a->endorsements);
  if (!doc) return ctx.fail(doc.error(), schema);
  return run_report_bytes(o.report, std::move(*doc), ctx);
}

}  // namespace

void add_cert(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<CertOptions>();
  auto* sub = app.add_subcommand("cert", "Verify an attested TLS certificate (cci RA-TLS v1) and the hardware report inside it");
  sub->footer(
      "The certificate: self-signed, CA:FALSE, valid at --at for at most 24 h, exactly one evidence extension\n"
      "(2.23.133.5.4.9, CBOR tag [evidence, claims]), claims whose pubkey-hash is this certificate's key, the\n"
      "expected --purpose and --deploy, and the signed manifest they name (--deployment, its signature checked\n"
      "with --release-key: a deployment manifest gives the launch measurements and the policy). Then the report,\n"
      "as cci-verify report checks it, with REPORT_DATA = SHA-256(claims) || 32 zero bytes. Certificates carried\n"
      "in 2.23.133.5.4.2 are candidates for the chain, checked against the pinned roots like any other.\n"
      "Examples:\n"
      "  cci-verify cert server.pem --deployment cci-manifest.json --release-key release.pub\n"
      "  cci-verify cert server.pem --deployment cci-manifest.json --release-key release.pub --trust-sim-root ./sim \\\n"
      "      --offline --insecure-no-crl --json");
  ReportOptions& r = o->report;
  sub->add_option("CERT", r.file, "The attested certificate (PEM or DER)")->required();
  sub->add_option("--at", r.at, "Verification time")->capture_default_str();
  add_attested_flags(sub, r, o->expect);
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_cert(*o, ctx); }; });
}

}  // namespace cci::tools::verify
