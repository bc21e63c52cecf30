// cci-bench verify: full offline SEV-SNP verifications per second on one core, against the
// raw cost of the primitives underneath (RSA-4096 PSS verify x2, ECDSA P-384 verify).
// Goal (SNP issue): one verification within 1.3x the primitives' sum. The ARK self-signature
// and the ARK -> ASK step are verified once per process (the first call, reported apart).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "base/file_io.h"
#include "cli/inputs.h"
#include "commands.h"
#include "crypto/keys.h"
#include "verify/snp_verify.h"

namespace cci::tools::bench {
namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct VerifyBenchOptions {
  std::string report, vek;
  std::vector<std::string> cert_chain;
  std::string crl;
  std::string at = "2026-06-01";
  double seconds = 2.0;
  bool check = false;
  double goal_ratio = 1.3;
};

// Calls `fn` repeatedly for about `seconds`; returns seconds per call.
template <class Fn>
double per_call(double seconds, Fn&& fn) {
  std::uint64_t n = 0;
  auto t0 = Clock::now();
  double el = 0;
  do {
    for (int i = 0; i < 16; ++i) fn();
    n += 16;
    el = std::chrono::duration<double>(Clock::now() - t0).count();
  } while (el < seconds);
  return el / double(n);
}

void default_inputs(VerifyBenchOptions& o) {
  if (!o.report.empty()) return;
  const char* env = std::getenv("CCI_TEST_VECTORS_DIR");
  fs::path snp = fs::path(env && *env ? env : "../shared/vectors") / "snp";
  o.report = (snp / "milan/tav_milan_v3_report.bin").string();
  o.vek = (snp / "milan/tav_milan_v3_vcek.pem").string();
  o.cert_chain = {(snp / "ca/ark_milan.pem").string(), (snp / "ca/ask_milan.pem").string()};
}

int run_verify_bench(VerifyBenchOptions o, const cli::Context& ctx) {
  const std::string schema = "cci.bench.verify.v1";
  default_inputs(o);
  auto at = cli::parse_time(o.at);
  if (!at) return ctx.fail(at.error(), schema);
  auto data = read_file(o.report, 1 << 20);
  if (!data) return ctx.fail(make_error(ErrorCode::kIo, data.error().message + " (give --report, --vek, --cert-chain)"), schema);
  auto in = snp::extract_report(*data);
  if (!in) return ctx.fail(in.error(), schema);
  auto vek = cli::load_certificates({o.vek});
  auto chain = cli::load_certificates(o.cert_chain);
  if (!vek) return ctx.fail(vek.error(), schema);
  if (!chain) return ctx.fail(chain.error(), schema);
  verify::SnpEvidence ev;
  ev.input = std::move(*in);
  ev.vek = std::move((*vek)[0]);
  ev.ca = std::move(*chain);
  ev.at = *at;
  ev.crl_required = !o.crl.empty();  // the vectors carry no CRL (no genuine AMD CRL is public in them)
  if (!o.crl.empty()) {
    auto crl_data = read_file(o.crl, 1 << 20);
    if (!crl_data) return ctx.fail(crl_data.error(), schema);
    auto crl = crypto::Crl::parse(*crl_data);
    if (!crl) return ctx.fail(crl.error(), schema);
    ev.crl = std::move(*crl);
  }
  const auto cold_start = Clock::now();
  auto first = verify::verify_snp(ev);
  const double cold = std::chrono::duration<double>(Clock::now() - cold_start).count();
  if (!first.passed) return ctx.fail(make_error(ErrorCode::kInvalidInput, "the benchmark inputs do not verify"), schema);

  // Primitives: the ASK's RSA-PSS signature over the VCEK (twice: ASK by ARK and VCEK by
  // ASK cost the same) and the report's ECDSA signature.
  const crypto::Certificate* ask = nullptr;
  for (const auto& c : ev.ca) {
    if (c.subject_common_name().rfind("SEV-", 0) == 0) ask = &c;
  }
  if (!ask) return ctx.fail(make_error(ErrorCode::kInvalidInput, "no ASK among --cert-chain"), schema);
  const double rsa = per_call(o.seconds / 3, [&] { (void)ev.vek->signed_by(*ask); });
  auto key = ev.vek->public_key();
  auto der = crypto::ecdsa_le_rs_to_der(ByteView(first.report->sig_r).first(48), ByteView(first.report->sig_s).first(48));
  crypto::SignOptions so;
  so.digest = crypto::DigestAlg::kSha384;
  const double ecdsa = per_call(o.seconds / 3, [&] { (void)crypto::verify(*key, first.report->signed_bytes(), *der, so); });
  const double full = per_call(o.seconds, [&] { (void)verify::verify_snp(ev); });
  const double primitives = 2 * rsa + ecdsa;
  const double ratio = full / primitives;
  const bool ok = ratio <= o.goal_ratio;
  const int rc = o.check && !ok ? 1 : 0;
  if (ctx.options().json) {
    ctx.out_json(schema, rc,
                 cli::Json{{"result", ok ? "pass" : "fail"}, {"openssl", crypto::openssl_version()}, {"threads", 1},
                           {"rsa4096_pss_verify_us", rsa * 1e6}, {"ecdsa_p384_verify_us", ecdsa * 1e6},
                           {"primitives_sum_us", primitives * 1e6}, {"first_verification_us", cold * 1e6},
                           {"full_verification_us", full * 1e6},
                           {"verifications_per_s", 1.0 / full}, {"ratio", ratio}, {"goal_ratio", o.goal_ratio},
                           {"crl_checked", ev.crl.has_value()}});
    return rc;
  }
  char line[160];
  ctx.out("cci-bench verify (one core, offline SEV-SNP verification of " + o.report + ")");
  std::snprintf(line, sizeof line, "  %-38s %9.1f us", "RSA-4096 PSS verify", rsa * 1e6);
  ctx.out(line);
  std::snprintf(line, sizeof line, "  %-38s %9.1f us", "ECDSA P-384 verify", ecdsa * 1e6);
  ctx.out(line);
  std::snprintf(line, sizeof line, "  %-38s %9.1f us", "primitives (2 x RSA + ECDSA)", primitives * 1e6);
  ctx.out(line);
  std::snprintf(line, sizeof line, "  %-38s %9.1f us", "first verification (ARK, ASK checked)", cold * 1e6);
  ctx.out(line);
  std::snprintf(line, sizeof line, "  %-38s %9.1f us  (%.0f / s)", "full verification", full * 1e6, 1.0 / full);
  ctx.out(line);
  std::snprintf(line, sizeof line, "  %-38s %9.2f     goal <= %.1f  %s", "ratio", ratio, o.goal_ratio, ctx.paint_ok(ok).c_str());
  ctx.out(line);
  return rc;
}

}  // namespace

void add_verify(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<VerifyBenchOptions>();
  auto* sub = app.add_subcommand("verify", "SEV-SNP verifications per second versus the cost of their primitives");
  sub->footer(
      "Defaults to the Milan v3 vector under CCI_TEST_VECTORS_DIR (or ../shared/vectors).\n"
      "Example:\n"
      "  cci-bench verify --json\n"
      "  cci-bench verify --report r.bin --vek vcek.der --cert-chain ark.pem --cert-chain ask.pem --at now");
  sub->add_option("--report", o->report, "Report file");
  sub->add_option("--vek", o->vek, "VCEK/VLEK certificate");
  sub->add_option("--cert-chain", o->cert_chain, "ARK and ASK certificates (repeatable)");
  sub->add_option("--crl", o->crl, "The ARK's CRL (then the revocation check is part of each verification)");
  sub->add_option("--at", o->at, "Verification time")->capture_default_str();
  sub->add_option("--seconds", o->seconds, "Time per measurement")->capture_default_str();
  sub->add_flag("--check", o->check, "Exit 1 when the goal is missed");
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_verify_bench(*o, ctx); }; });
}

}  // namespace cci::tools::bench
