// cci-run attest: evidence binding the caller's 64 bytes of REPORT_DATA, written in the
// format cci-verify report reads (cci.evidence.v1), from the source --tee names
// (attest/evidence_source.h: configfs-tsm, /dev/sev-guest, /dev/csv-guest, or a simulator).
#include <memory>

#include "attest/evidence_source.h"
#include "attest/gpu_source.h"
#include "base/file_io.h"
#include "base/hex.h"
#include "commands.h"
#include "ratls/fresh.h"

namespace cci::tools::run {
namespace {

struct AttestOptions {
  attest::SourceOptions source;  // --tee and the device / simulator paths
  std::string report_data, nonce;
  std::string measurement;
  std::string out;
  bool debug = false;
  unsigned version = 5;
  unsigned vmpl = 0;
  std::string gpu = "none";  // none | nvml | sim: the GPUs' evidence too, bound into REPORT_DATA
};

Result<Bytes> report_data_of(const AttestOptions& o) {
  if (o.report_data.empty() == o.nonce.empty()) return make_error(ErrorCode::kUsage, "give exactly one of --report-data and --nonce");
  if (!o.report_data.empty()) {
    auto b = hex_arg(o.report_data, "--report-data");
    if (!b) return make_error(ErrorCode::kUsage, b.error().message, "report-data");
    if (b->size() != 64) {
      return make_error(ErrorCode::kUsage, "--report-data must be exactly 64 bytes (128 hex digits), got " + std::to_string(b->size()),
                        "report-data");
    }
    return b;
  }
  auto b = hex_arg(o.nonce, "--nonce");
  if (!b || b->empty() || b->size() > 64) return make_error(ErrorCode::kUsage, "--nonce must be 1 to 64 bytes of hex", "nonce");
  b->resize(64, 0);  // REPORT_DATA = nonce, zero-padded (as cci-verify report --nonce expects)
  return b;
}

int write_evidence(const attest::Evidence& ev, const AttestOptions& o, const cli::Context& ctx, const std::string& schema) {
  for (const auto& w : ev.warnings) ctx.warn(w);
  const evidence::EvidenceFile& e = ev.file;
  const std::string text = evidence::write_evidence_file(e);
  auto st = ctx.write_output(o.out, ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  if (!st) return ctx.fail(st.error(), schema);
  if (ctx.options().json) {
    ctx.out_json(schema, 0,
                 cli::Json{{"result", "ok"}, {"tee", e.tee}, {"source", ev.source}, {"simulated", e.simulated()}, {"gpu_evidence", e.gpu_evidence.has_value()}, {"out", o.out}});
  } else {
    ctx.out(std::string("wrote ") + (e.simulated() ? "SIMULATED " : "") + evidence::tee_display_name(e.tee) + " evidence from " + ev.source +
            (e.gpu_evidence ? " with the GPUs' evidence bound to it" : "") + " to " + o.out);
  }
  return 0;
}

Result<attest::SourceOptions> source_options_of(const AttestOptions& o) {
  attest::SourceOptions so = o.source;
  attest::GuestRequest g;
  g.measurement_hex = o.measurement;
  g.debug = o.debug;
  g.report_version = o.version;
  g.vmpl = o.vmpl;
  CCI_TRY(attest::apply_guest_request(so, g));
  return so;
}

int run_attest(const AttestOptions& o, const cli::Context& ctx) {
  const std::string schema = "cci.run.attest.v1";
  if (o.out == "-" && ctx.options().json) {
    return ctx.fail(make_error(ErrorCode::kUsage, "--json and --output - would both write to standard output: name a file", "out"), schema);
  }
  if (o.vmpl > 3) return ctx.fail(make_error(ErrorCode::kUsage, "--vmpl must be 0 to 3", "vmpl"), schema);
  auto so = source_options_of(o);
  if (!so) return ctx.fail(so.error(), schema);
  auto rd = report_data_of(o);
  if (!rd) return ctx.fail(rd.error(), schema);
  // With GPUs: each GPU answers SHA-256("cci-attest-gpu-nonce" || nonce), and REPORT_DATA binds
  // the nonce and the GPU evidence (ratls::attest_report_data), so the CPU report vouches for it.
  std::optional<Bytes> gpu_evidence;
  if (o.gpu != "none") {
    if (o.nonce.empty()) {
      return ctx.fail(make_error(ErrorCode::kUsage, "--gpu binds the GPUs' evidence into REPORT_DATA with the verifier's nonce: give --nonce, not --report-data", "gpu"),
                      schema);
    }
    auto nonce = hex_arg(o.nonce, "--nonce");  // checked by report_data_of
    auto g = attest::select_gpu_source(o.gpu, so->sim_dir);
    if (!g) return ctx.fail(make_error(g.error().code, "--gpu " + o.gpu + ": " + g.error().message, "gpu"), schema);
    auto gev = (*g)->evidence(ratls::attest_gpu_nonce(*nonce));
    if (!gev) return ctx.fail(make_error(gev.error().code, "--gpu " + o.gpu + ": " + gev.error().message, "gpu"), schema);
    ctx.info("GPU evidence from " + (*g)->describe() + ", bound into REPORT_DATA");
    *rd = ratls::attest_report_data(*nonce, *gev);
    gpu_evidence = std::move(*gev);
  }
  auto source = open_evidence_source(*so, ctx);
  if (!source) return ctx.fail(source.error(), schema);
  auto ev = (*source)->get_evidence(*rd);
  if (!ev) return ctx.fail(ev.error(), schema);
  ev->file.gpu_evidence = std::move(gpu_evidence);
  return write_evidence(*ev, o, ctx, schema);
}
}  // namespace

void add_attest(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<AttestOptions>();
  auto* sub = app.add_subcommand("attest", "Write attestation evidence binding 64 bytes of REPORT_DATA");
  sub->footer(
      "Evidence goes to --output as cci.evidence.v1 JSON (report and certificates), which cci-verify report reads.\n"
      "--nonce pads to 64 bytes with zeros; --report-data must be exactly 64 bytes. With --gpu, REPORT_DATA is\n"
      "SHA-512(\"cci-attest-gpu\" || len(nonce) || nonce || SHA-256(GPU evidence)) and each GPU answers\n"
      "SHA-256(\"cci-attest-gpu-nonce\" || nonce).\n"
      "Examples:\n"
      "On a confidential VM --tee auto finds the hardware; it never falls back to a simulator.\n"
      "  cci-run attest --nonce $NONCE -o evidence.json\n"
      "  cci-run attest --tee sim-snp --sim-dir ./sim --nonce $NONCE -o evidence.json\n"
      "  cci-run attest --tee sim-snp --sim-dir ./sim --report-data $HEX128 --measurement $MEAS -o e.json\n"
      "  cci-run attest --tee sim-csv --sim-dir ./sim --nonce $NONCE --report-version 2 -o csv.json\n"
      "  cci-run attest --tee sim-tdx --sim-dir ./sim --nonce $NONCE --report-version 4 -o tdx.json   # quote v4 (TD 1.0)\n"
      "  cci-run attest --nonce $NONCE --gpu nvml -o evidence.json   # CPU report + the GPUs' evidence, one file");
  add_evidence_source_flags(sub, o->source);
  sub->add_option("--report-data", o->report_data, "REPORT_DATA, exactly 64 bytes of hex");
  sub->add_option("--nonce", o->nonce, "A nonce (1-64 bytes of hex), zero-padded into REPORT_DATA");
  sub->add_option("--measurement", o->measurement, "Simulator: the launch measurement to report (SNP and TDX MRTD 96 hex digits, CSV 64; e.g. from cci-measure image)");
  sub->add_flag("--debug", o->debug, "Simulator: report a guest policy (TDX: TD attributes) that allows debugging (for negative tests)");
  sub->add_option("--report-version", o->version, "SNP simulator: report version 2, 3 or 5; CSV (hardware or simulator): 1 or 2 (V2 = CSV3 with RTMRs; 5 means 1); TDX simulator: quote version 4 or 5")->capture_default_str();
  sub->add_option("--gpu", o->gpu,
                  "Confidential GPUs beside the CPU TEE: none, nvml (NVIDIA GPUs in CC mode) or sim (the simulated GPU of --sim-dir); "
                  "their evidence goes into the file, bound to the CPU report (needs --nonce; cci-verify report --nonce checks both)")
      ->capture_default_str()
      ->check(CLI::IsMember({"none", "nvml", "sim"}));
  sub->add_option("--vmpl", o->vmpl, "SNP: the VMPL to request (0-3; hardware and simulator)")->capture_default_str();
  cli::add_alias(sub, sub->add_option("-o,--output", o->out, "Evidence file to write (- for standard output)")->required(), "--out", o->out);
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_attest(*o, ctx); }; });
}

}  // namespace cci::tools::run
