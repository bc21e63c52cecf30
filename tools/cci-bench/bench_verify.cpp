// cci-bench verify: full offline verifications per second on one core, against the raw cost
// of the signature primitives underneath, for both vendors:
//   SEV-SNP: RSA-4096 PSS verify x2 (ASK by ARK, VEK by ASK) + ECDSA P-384 (the report);
//   Hygon CSV: SM2/SM3 verify x2 (PEK by CEK, report by PEK).
// Goal (SNP and CSV issues): one verification within 1.3x the primitives' sum. Roots and
// intermediates are verified once per process (the first call, reported apart).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "base/file_io.h"
#include "cli/inputs.h"
#include "commands.h"
#include "crypto/keys.h"
#include "verify/csv_verify.h"
#include "verify/snp_verify.h"

namespace cci::tools::bench {
namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct VerifyBenchOptions {
  std::string vendor = "both";
  std::string report, vek;
  std::vector<std::string> cert_chain;
  std::string crl;
  std::string csv_report, hrk, hsk_cek;
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
    for (int i = 0; i < 4; ++i) fn();
    n += 4;
    el = std::chrono::duration<double>(Clock::now() - t0).count();
  } while (el < seconds);
  return el / double(n);
}

template <class Fn>
double once(Fn&& fn) {
  auto t0 = Clock::now();
  fn();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

fs::path vectors_dir() {
  const char* env = std::getenv("CCI_TEST_VECTORS_DIR");
  return fs::path(env && *env ? env : "../shared/vectors");
}

void default_inputs(VerifyBenchOptions& o) {
  if (o.report.empty()) {
    fs::path snp = vectors_dir() / "snp";
    o.report = (snp / "milan/tav_milan_v3_report.bin").string();
    o.vek = (snp / "milan/tav_milan_v3_vcek.pem").string();
    o.cert_chain = {(snp / "ca/ark_milan.pem").string(), (snp / "ca/ask_milan.pem").string()};
  }
  if (o.csv_report.empty()) {
    fs::path csv = vectors_dir() / "csv";
    o.csv_report = (csv / "csvrs_NZA9T14052605_report_v1_raw.bin").string();
    o.hrk = (csv / "hygon_hrk.cert").string();
    o.hsk_cek = (csv / "csvrs_NZA9T14052605_hsk_cek.cert").string();
  }
}

struct Figures {
  std::string name;        // "snp" | "csv"
  std::string primitives;  // what the reference is
  std::vector<std::pair<std::string, double>> primitive_us;
  double primitives_us = 0, first_us = 0, full_us = 0;
  bool crl_checked = false;
  double ratio() const { return full_us / primitives_us; }
};

Result<Figures> bench_snp(const VerifyBenchOptions& o) {
  auto at = cli::parse_time(o.at);
  if (!at) return at.error();
  auto data = read_file(o.report, 1 << 20);
  if (!data) return make_error(ErrorCode::kIo, data.error().message + " (give --report, --vek, --cert-chain)");
  auto in = snp::extract_report(*data);
  if (!in) return in.error();
  auto vek = cli::load_certificates({o.vek});
  if (!vek) return vek.error();
  auto chain = cli::load_certificates(o.cert_chain);
  if (!chain) return chain.error();
  verify::SnpEvidence ev;
  ev.input = std::move(*in);
  ev.vek = std::move((*vek)[0]);
  ev.ca = std::move(*chain);
  ev.at = *at;
  ev.crl_required = !o.crl.empty();  // the vectors carry no CRL (no genuine AMD CRL is public in them)
  if (!o.crl.empty()) {
    auto crl_data = read_file(o.crl, 1 << 20);
    if (!crl_data) return crl_data.error();
    auto crl = crypto::Crl::parse(*crl_data);
    if (!crl) return crl.error();
    ev.crl = std::move(*crl);
  }
  Figures f{"snp", "RSA-4096 PSS verify x2 + ECDSA P-384 verify", {}, 0, 0, 0, ev.crl.has_value()};
  verify::SnpVerification first;
  f.first_us = once([&] { first = verify::verify_snp(ev); }) * 1e6;
  if (!first.passed) return make_error(ErrorCode::kInvalidInput, "the SEV-SNP benchmark inputs do not verify");
  const crypto::Certificate* ask = nullptr;
  for (const auto& c : ev.ca) {
    if (c.subject_common_name().rfind("SEV-", 0) == 0) ask = &c;
  }
  if (!ask) return make_error(ErrorCode::kInvalidInput, "no ASK among --cert-chain");
  const double seconds = o.seconds;
  const double rsa = per_call(seconds / 3, [&] { (void)ev.vek->signed_by(*ask); });
  auto key = ev.vek->public_key();
  auto der = crypto::ecdsa_le_rs_to_der(ByteView(first.report->sig_r).first(48), ByteView(first.report->sig_s).first(48));
  crypto::SignOptions so;
  so.digest = crypto::DigestAlg::kSha384;
  const double ecdsa = per_call(seconds / 3, [&] { (void)crypto::verify(*key, first.report->signed_bytes(), *der, so); });
  f.primitive_us = {{"rsa4096_pss_verify_us", rsa * 1e6}, {"ecdsa_p384_verify_us", ecdsa * 1e6}};
  f.primitives_us = (2 * rsa + ecdsa) * 1e6;
  f.full_us = per_call(seconds, [&] { (void)verify::verify_snp(ev); }) * 1e6;
  return f;
}

Result<Figures> bench_csv(const VerifyBenchOptions& o) {
  auto data = read_file(o.csv_report, 1 << 22);
  if (!data) return make_error(ErrorCode::kIo, data.error().message + " (give --csv-report, --hrk, --hsk-cek)");
  auto ev = csv::extract_evidence(*data);
  if (!ev) return ev.error();
  verify::CsvInputs in;
  in.evidence = std::move(*ev);
  auto hrk = read_file(o.hrk, 1 << 16);
  if (!hrk) return hrk.error();
  auto hsk_cek = read_file(o.hsk_cek, 1 << 16);
  if (!hsk_cek) return hsk_cek.error();
  in.hrk = std::move(*hrk);
  in.hsk_cek = std::move(*hsk_cek);
  in.hsk_cek_source = o.hsk_cek;
  Figures f{"csv", "SM2/SM3 verify x2 (PEK by CEK, report by PEK)", {}, 0, 0, 0, false};
  verify::CsvVerification first;
  f.first_us = once([&] { first = verify::verify_csv(in); }) * 1e6;
  if (!first.passed) return make_error(ErrorCode::kInvalidInput, "the CSV benchmark inputs do not verify");
  const csv::Report& r = *first.report;
  const double sm2 = per_call(o.seconds / 3, [&] { (void)csv::verify_hygon_signature(r.pek.pub, r.signed_bytes(), r.sig); });
  f.primitive_us = {{"sm2_verify_us", sm2 * 1e6}};
  f.primitives_us = 2 * sm2 * 1e6;
  f.full_us = per_call(o.seconds, [&] { (void)verify::verify_csv(in); }) * 1e6;
  return f;
}

cli::Json figures_json(const Figures& f, double goal) {
  cli::Json j{{"primitives", f.primitives}};
  for (const auto& [k, v] : f.primitive_us) j[k] = v;
  j["primitives_sum_us"] = f.primitives_us;
  j["first_verification_us"] = f.first_us;
  j["full_verification_us"] = f.full_us;
  j["verifications_per_s"] = 1e6 / f.full_us;
  j["ratio"] = f.ratio();
  j["pass"] = f.ratio() <= goal;
  if (f.name == "snp") j["crl_checked"] = f.crl_checked;
  return j;
}

void print_figures(const Figures& f, double goal, const cli::Context& ctx) {
  char line[200];
  auto row = [&](const std::string& what, double us) {
    std::snprintf(line, sizeof line, "  %-44s %9.1f us", what.c_str(), us);
    ctx.out(line);
  };
  ctx.out(std::string(f.name == "snp" ? "SEV-SNP" : "Hygon CSV") + " (reference: " + f.primitives + ")");
  for (const auto& [k, v] : f.primitive_us) row(k.substr(0, k.size() - 3), v);
  row("primitives sum", f.primitives_us);
  row("first verification (roots checked)", f.first_us);
  std::snprintf(line, sizeof line, "  %-44s %9.1f us  (%.0f / s)", "full verification", f.full_us, 1e6 / f.full_us);
  ctx.out(line);
  std::snprintf(line, sizeof line, "  %-44s %9.2f     goal <= %.1f  %s", "ratio", f.ratio(), goal, ctx.paint_ok(f.ratio() <= goal).c_str());
  ctx.out(line);
}

int run_verify_bench(VerifyBenchOptions o, const cli::Context& ctx) {
  const std::string schema = "cci.bench.verify.v2";
  if (o.vendor != "both" && o.vendor != "amd" && o.vendor != "hygon") {
    return ctx.fail(make_error(ErrorCode::kUsage, "--vendor must be both, amd or hygon"), schema);
  }
  default_inputs(o);
  std::vector<Figures> all;
  if (o.vendor != "hygon") {
    auto f = bench_snp(o);
    if (!f) return ctx.fail(f.error(), schema);
    all.push_back(std::move(*f));
  }
  if (o.vendor != "amd") {
    auto f = bench_csv(o);
    if (!f) return ctx.fail(f.error(), schema);
    all.push_back(std::move(*f));
  }
  bool ok = true;
  for (const auto& f : all) ok = ok && f.ratio() <= o.goal_ratio;
  const int rc = o.check && !ok ? 1 : 0;
  if (ctx.options().json) {
    cli::Json body{{"result", ok ? "pass" : "fail"}, {"openssl", crypto::openssl_version()}, {"threads", 1}, {"goal_ratio", o.goal_ratio}};
    for (const auto& f : all) body[f.name] = figures_json(f, o.goal_ratio);
    ctx.out_json(schema, rc, body);
    return rc;
  }
  ctx.out("cci-bench verify (one core, offline verification, " + crypto::openssl_version() + ")");
  for (const auto& f : all) print_figures(f, o.goal_ratio, ctx);
  return rc;
}

}  // namespace

void add_verify(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<VerifyBenchOptions>();
  auto* sub = app.add_subcommand("verify", "SEV-SNP and CSV verifications per second versus the cost of their signature primitives");
  sub->footer(
      "Defaults to the Milan v3 SNP vector and the genuine CSV V1 vector under CCI_TEST_VECTORS_DIR\n"
      "(or ../shared/vectors).\n"
      "Examples:\n"
      "  cci-bench verify --json\n"
      "  cci-bench verify --vendor amd --report r.bin --vek vcek.der --cert-chain ark.pem --cert-chain ask.pem --at now\n"
      "  cci-bench verify --vendor hygon --csv-report report.bin --hrk hrk.cert --hsk-cek hsk_cek.cert");
  sub->add_option("--vendor", o->vendor, "both, amd or hygon")->capture_default_str();
  sub->add_option("--report", o->report, "SNP report file");
  sub->add_option("--vek", o->vek, "SNP: VCEK/VLEK certificate");
  sub->add_option("--cert-chain", o->cert_chain, "SNP: ARK and ASK certificates (repeatable)");
  sub->add_option("--crl", o->crl, "SNP: the ARK's CRL (then the revocation check is part of each verification)");
  sub->add_option("--csv-report", o->csv_report, "CSV evidence file");
  sub->add_option("--hrk", o->hrk, "CSV: the HRK certificate");
  sub->add_option("--hsk-cek", o->hsk_cek, "CSV: HSK || CEK for the report's chip");
  sub->add_option("--at", o->at, "SNP verification time")->capture_default_str();
  sub->add_option("--seconds", o->seconds, "Time per measurement")->capture_default_str();
  sub->add_flag("--check", o->check, "Exit 1 when a goal is missed");
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_verify_bench(*o, ctx); }; });
}

}  // namespace cci::tools::bench
