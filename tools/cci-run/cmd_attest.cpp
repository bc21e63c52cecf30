// cci-run attest: evidence binding the caller's 64 bytes of REPORT_DATA, written in the
// format cci-verify report reads (cci.evidence.v1). This build has the simulator only
// (--tee sim-snp); the hardware sources land with the rest of the evidence issue.
#include <memory>

#include "attest/evidence_file.h"
#include "attest/tsm.h"
#include "crypto/x509.h"
#include "snp/cert_table.h"
#include "base/file_io.h"
#include "base/hex.h"
#include "commands.h"
#include "sim/csv_sim.h"
#include "sim/snp_sim.h"

namespace cci::tools::run {
namespace {

struct AttestOptions {
  std::string tee = "auto";
  std::string tsm_root = "/sys/kernel/config/tsm/report";
  std::string sim_dir;
  std::string report_data, nonce;
  std::string measurement;
  std::string out;
  bool debug = false;
  unsigned version = 5;
  unsigned vmpl = 0;
};

Result<Bytes> report_data_of(const AttestOptions& o) {
  if (o.report_data.empty() == o.nonce.empty()) return make_error(ErrorCode::kUsage, "give exactly one of --report-data and --nonce");
  if (!o.report_data.empty()) {
    auto b = from_hex(o.report_data, "--report-data");
    if (!b) return make_error(ErrorCode::kUsage, b.error().message, "report-data");
    if (b->size() != 64) {
      return make_error(ErrorCode::kUsage, "--report-data must be exactly 64 bytes (128 hex digits), got " + std::to_string(b->size()),
                        "report-data");
    }
    return b;
  }
  auto b = from_hex(o.nonce, "--nonce");
  if (!b || b->empty() || b->size() > 64) return make_error(ErrorCode::kUsage, "--nonce must be 1 to 64 bytes of hex", "nonce");
  b->resize(64, 0);  // REPORT_DATA = nonce, zero-padded (as cci-verify report --nonce expects)
  return b;
}

int write_evidence(const attest::EvidenceFile& e, const AttestOptions& o, const cli::Context& ctx, const std::string& schema) {
  const std::string text = attest::write_evidence_file(e);
  auto st = write_file_atomic(o.out, ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  if (!st) return ctx.fail(st.error(), schema);
  if (ctx.options().json) {
    ctx.out_json(schema, 0, cli::Json{{"result", "ok"}, {"tee", e.tee}, {"simulated", e.simulated()}, {"out", o.out}});
  } else {
    ctx.out(std::string("wrote ") + (e.simulated() ? "SIMULATED " : "") + (e.is_snp() ? "SEV-SNP" : "CSV") + " evidence to " + o.out);
  }
  return 0;
}

int run_attest_sim_csv(const AttestOptions& o, Bytes report_data, const cli::Context& ctx, const std::string& schema) {
  sim::CsvReportRequest req;
  req.report_data = std::move(report_data);
  if (!o.measurement.empty()) {
    auto m = from_hex(o.measurement, "--measurement", 32);
    if (!m) return ctx.fail(make_error(ErrorCode::kUsage, m.error().message + " (a CSV measure is 64 hex digits)", "measurement"), schema);
    req.measure = std::move(*m);
  }
  if (o.debug) req.policy &= ~1u;  // NODBG clear
  if (o.version != 1 && o.version != 2 && o.version != 5) return ctx.fail(make_error(ErrorCode::kUsage, "CSV report version must be 1 or 2"), schema);
  req.version = o.version == 2 ? csv::ReportVersion::kV2 : csv::ReportVersion::kV1;
  auto page = sim::csv_sim_report(o.sim_dir, req);
  if (!page) return ctx.fail(page.error(), schema);
  attest::EvidenceFile e;
  e.tee = "sim-csv";
  e.report = std::move(*page);
  auto hrk = read_file(sim::csv_sim_hrk_file(o.sim_dir), 1 << 16);
  if (!hrk) return ctx.fail(hrk.error(), schema);
  e.hrk = std::move(*hrk);
  return write_evidence(e, o, ctx, schema);
}

// The certificate table a provider returns in auxblob (SNP: VCEK/VLEK, ASK, ARK) as PEM.
void add_aux_certificates(ByteView aux, attest::EvidenceFile& e, const cli::Context& ctx) {
  if (aux.empty()) return;
  auto table = snp::parse_cert_table(aux);
  if (!table) {
    ctx.warn("auxblob is not a certificate table (" + table.error().message + "): certificates left out");
    return;
  }
  std::string chain;
  for (const auto& entry : *table) {
    auto cert = crypto::Certificate::from_der(entry.data);
    if (!cert) continue;
    if (entry.kind == "vcek" || entry.kind == "vlek") e.vek_pem = cert->pem();
    else if (entry.kind != "unknown") chain += cert->pem();
  }
  if (!chain.empty()) e.cert_chain_pem = chain;
}

// Hardware evidence through configfs-tsm. The ioctl interfaces (/dev/sev-guest,
// /dev/csv-guest) are not in this build; the error says what was tried.
int run_attest_hardware(const AttestOptions& o, Bytes report_data, const cli::Context& ctx, const std::string& schema) {
  attest::TsmOptions to;
  to.root = o.tsm_root;
  to.privlevel = static_cast<int>(o.vmpl);
  if (!attest::tsm_available(to)) {
    return ctx.fail(make_error(ErrorCode::kIo, "no TEE evidence source: tried configfs-tsm (" + o.tsm_root +
                                                   ": absent); /dev/sev-guest and /dev/csv-guest are not supported by this build. On a "
                                                   "machine without SEV-SNP or CSV, name a simulator: --tee sim-snp|sim-csv --sim-dir DIR"),
                    schema);
  }
  auto r = attest::tsm_get_report(report_data, to);
  if (!r) return ctx.fail(r.error(), schema);
  if (r->provider != "sev_guest") {
    return ctx.fail(make_error(ErrorCode::kUnsupported, "configfs-tsm provider '" + r->provider + "' is not SEV-SNP (sev_guest)"), schema);
  }
  if (o.tee != "auto" && o.tee != "snp") return ctx.fail(make_error(ErrorCode::kUsage, "the TEE here is SEV-SNP, not " + o.tee), schema);
  attest::EvidenceFile e;
  e.tee = "snp";
  e.report = std::move(r->outblob);
  add_aux_certificates(r->auxblob, e, ctx);
  return write_evidence(e, o, ctx, schema);
}

int run_attest(const AttestOptions& o, const cli::Context& ctx) {
  const std::string schema = "cci.run.attest.v1";
  if (o.tee == "auto" || o.tee == "snp" || o.tee == "csv") {
    auto rd = report_data_of(o);
    if (!rd) return ctx.fail(rd.error(), schema);
    return run_attest_hardware(o, std::move(*rd), ctx, schema);
  }
  if (o.tee != "sim-snp" && o.tee != "sim-csv") {
    return ctx.fail(make_error(ErrorCode::kUnsupported, "--tee " + o.tee + ": this build has no hardware evidence source yet (configfs-tsm, "
                                                        "/dev/sev-guest, /dev/csv-guest); the simulators run only when named: --tee sim-snp|sim-csv --sim-dir DIR"),
                    schema);
  }
  if (o.sim_dir.empty()) return ctx.fail(make_error(ErrorCode::kUsage, "--tee " + o.tee + " needs --sim-dir DIR (from cci-run sim init)"), schema);
  auto rd = report_data_of(o);
  if (!rd) return ctx.fail(rd.error(), schema);
  ctx.warn("SIMULATED TEE (" + o.sim_dir + "): this evidence proves nothing about hardware");
  if (o.tee == "sim-csv") return run_attest_sim_csv(o, std::move(*rd), ctx, schema);
  sim::SnpReportRequest req;
  req.report_data = std::move(*rd);
  if (!o.measurement.empty()) {
    auto m = from_hex(o.measurement, "--measurement", 48);
    if (!m) return ctx.fail(make_error(ErrorCode::kUsage, m.error().message, "measurement"), schema);
    req.measurement = std::move(*m);
  }
  if (o.debug) req.policy |= 1ull << 19;
  req.version = o.version;
  req.vmpl = o.vmpl;
  auto report = sim::snp_sim_report(o.sim_dir, req);
  if (!report) return ctx.fail(report.error(), schema);
  attest::EvidenceFile e;
  e.tee = "sim-snp";
  e.report = std::move(*report);
  auto vek = read_file(sim::snp_sim_vcek_file(o.sim_dir), 1 << 16);
  auto chain = read_file(sim::snp_sim_chain_file(o.sim_dir), 1 << 16);
  if (!vek) return ctx.fail(vek.error(), schema);
  if (!chain) return ctx.fail(chain.error(), schema);
  e.vek_pem = std::string(vek->begin(), vek->end());
  e.cert_chain_pem = std::string(chain->begin(), chain->end());
  return write_evidence(e, o, ctx, schema);
}
}  // namespace

void add_attest(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<AttestOptions>();
  auto* sub = app.add_subcommand("attest", "Write attestation evidence binding 64 bytes of REPORT_DATA");
  sub->footer(
      "Evidence goes to --out as cci.evidence.v1 JSON (report and certificates), which cci-verify report reads.\n"
      "--nonce pads to 64 bytes with zeros; --report-data must be exactly 64 bytes.\n"
      "Examples:\n"
      "  cci-run attest --tee sim-snp --sim-dir ./sim --nonce $NONCE --out evidence.json\n"
      "  cci-run attest --tee sim-snp --sim-dir ./sim --report-data $HEX128 --measurement $MEAS --out e.json\n"
      "  cci-run attest --tee sim-csv --sim-dir ./sim --nonce $NONCE --report-version 2 --out csv.json");
  sub->add_option("--tee", o->tee, "auto, snp, csv (hardware, through configfs-tsm), sim-snp or sim-csv (simulators, by name only)")
      ->capture_default_str();
  sub->add_option("--tsm-root", o->tsm_root, "configfs-tsm report directory")->capture_default_str();
  sub->add_option("--sim-dir", o->sim_dir, "Simulated platform directory (cci-run sim init)");
  sub->add_option("--report-data", o->report_data, "REPORT_DATA, exactly 64 bytes of hex");
  sub->add_option("--nonce", o->nonce, "A nonce (1-64 bytes of hex), zero-padded into REPORT_DATA");
  sub->add_option("--measurement", o->measurement, "Simulator: the launch measurement to report (SNP 96 hex digits, CSV 64; e.g. from cci-measure image)");
  sub->add_flag("--debug", o->debug, "Simulator: report a guest policy that allows debugging (for negative tests)");
  sub->add_option("--report-version", o->version, "Simulator: SNP report version 2, 3 or 5; CSV 1 or 2 (5 means 1)")->capture_default_str();
  sub->add_option("--vmpl", o->vmpl, "Simulator: VMPL (0-3)")->capture_default_str();
  sub->add_option("--out", o->out, "Evidence file to write")->required();
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_attest(*o, ctx); }; });
}

}  // namespace cci::tools::run
