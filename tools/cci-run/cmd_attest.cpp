// cci-run attest: evidence binding the caller's 64 bytes of REPORT_DATA, written in the
// format cci-verify report reads (cci.evidence.v1). This build has the simulator only
// (--tee sim-snp); the hardware sources land with the rest of the evidence issue.
#include <memory>

#include "attest/evidence_file.h"
#include "base/file_io.h"
#include "base/hex.h"
#include "commands.h"
#include "sim/snp_sim.h"

namespace cci::tools::run {
namespace {

struct AttestOptions {
  std::string tee = "auto";
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

int run_attest(const AttestOptions& o, const cli::Context& ctx) {
  const std::string schema = "cci.run.attest.v1";
  if (o.tee != "sim-snp") {
    return ctx.fail(make_error(ErrorCode::kUnsupported, "--tee " + o.tee + ": this build has no hardware evidence source yet; tried: sim-snp only "
                                                        "when named (use --tee sim-snp --sim-dir DIR)"),
                    schema);
  }
  if (o.sim_dir.empty()) return ctx.fail(make_error(ErrorCode::kUsage, "--tee sim-snp needs --sim-dir DIR (from cci-run sim init)"), schema);
  auto rd = report_data_of(o);
  if (!rd) return ctx.fail(rd.error(), schema);
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
  ctx.warn("SIMULATED TEE (" + o.sim_dir + "): this evidence proves nothing about hardware");
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
  const std::string text = attest::write_evidence_file(e);
  auto st = write_file_atomic(o.out, ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  if (!st) return ctx.fail(st.error(), schema);
  if (ctx.options().json) {
    ctx.out_json(schema, 0, cli::Json{{"result", "ok"}, {"tee", e.tee}, {"simulated", true}, {"out", o.out}});
  } else {
    ctx.out("wrote SIMULATED SEV-SNP evidence to " + o.out);
  }
  return 0;
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
      "  cci-run attest --tee sim-snp --sim-dir ./sim --report-data $HEX128 --measurement $MEAS --out e.json");
  sub->add_option("--tee", o->tee, "sim-snp (hardware sources: not in this build)")->capture_default_str();
  sub->add_option("--sim-dir", o->sim_dir, "Simulated platform directory (cci-run sim init)");
  sub->add_option("--report-data", o->report_data, "REPORT_DATA, exactly 64 bytes of hex");
  sub->add_option("--nonce", o->nonce, "A nonce (1-64 bytes of hex), zero-padded into REPORT_DATA");
  sub->add_option("--measurement", o->measurement, "Simulator: MEASUREMENT to report (96 hex digits, e.g. from cci-measure image)");
  sub->add_flag("--debug", o->debug, "Simulator: report a guest policy that allows debugging (for negative tests)");
  sub->add_option("--report-version", o->version, "Simulator: report version 2, 3 or 5")->capture_default_str();
  sub->add_option("--vmpl", o->vmpl, "Simulator: VMPL (0-3)")->capture_default_str();
  sub->add_option("--out", o->out, "Evidence file to write")->required();
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_attest(*o, ctx); }; });
}

}  // namespace cci::tools::run
