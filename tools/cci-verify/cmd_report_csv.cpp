// cci-verify report / show for Hygon CSV evidence: the HRK pinned in cci, HSK and CEK from a
// trusted store for the report's chip ID (--hsk-cek, the cache, or the Hygon KDS into the
// cache), the PEK and the report; then the policy. Same verdict format as SNP.
#include "base/file_io.h"
#include "base/hex.h"
#include "crypto/digest.h"
#include "collateral/hygon_kds.h"
#include "csv/evidence.h"
#include "policy/csv_policy.h"
#include "report_common.h"
#include "sim/csv_sim.h"
#include "verify/csv_verify.h"

namespace cci::tools::verify {
namespace {

cli::Json csv_report_json(const csv::Report& r) {
  cli::Json j{{"version", r.version == csv::ReportVersion::kV1 ? 1 : 2},
              {"pek_encoding", csv::pek_encoding_name(r.pek_encoding)},
              {"chip_id", r.chip_id},
              {"policy", {{"raw", hex_u(r.policy)},
                          {"nodbg", (r.policy & 1) != 0},
                          {"noks", (r.policy >> 1 & 1) != 0},
                          {"es", (r.policy >> 2 & 1) != 0},
                          {"nosend", (r.policy >> 3 & 1) != 0},
                          {"csv", (r.policy >> 5 & 1) != 0},
                          {"csv3", (r.policy >> 6 & 1) != 0},
                          {"api_major", (r.policy >> 16) & 0xff},
                          {"api_minor", (r.policy >> 24) & 0xff}}},
              {"measure", to_hex(r.measure)},
              {"report_data", to_hex(r.report_data)},
              {"mnonce", to_hex(r.mnonce)},
              {"vm_id", to_hex(r.vm_id)},
              {"vm_version", to_hex(r.vm_version)},
              {"user_pubkey_digest", to_hex(r.user_pubkey_digest)},
              {"sig_usage", hex_u(r.sig_usage)},
              {"sig_algo", r.sig_algo},
              {"pek_firmware", std::to_string(r.pek.api_major) + "." + std::to_string(r.pek.api_minor)}};
  if (r.version == csv::ReportVersion::kV1) {
    j["anonce"] = hex_u(r.anonce);
  } else {
    j["build"] = r.build;
    j["rtmr_version"] = r.rtmr_version;
    cli::Json rt = cli::Json::array();
    for (const auto& m : r.rtmr) rt.push_back(to_hex(m));
    j["rtmr"] = rt;
  }
  return j;
}

Result<std::optional<Bytes>> read_optional(const std::string& path, size_t max) {
  if (path.empty()) return std::optional<Bytes>();
  auto d = read_file(path, max);
  if (!d) return d.error();
  return std::optional<Bytes>(std::move(*d));
}

// HRK and HSK||CEK not given come from the cache and, unless --offline, from the Hygon KDS
// into the cache. Only stores keyed by the report's chip ID bind that chip: never the evidence.
void resolve_csv_collateral(const ReportOptions& o, const std::string& chip_id, ::cci::verify::CsvInputs& in, const cli::Context& ctx) {
  const collateral::HygonCache cache = hygon_cache_of(o.kds);
  std::vector<collateral::HygonItem> need;
  if (!in.hrk) need.push_back(collateral::HygonItem::kHrk);
  if (!in.hsk_cek && !chip_id.empty()) need.push_back(collateral::HygonItem::kHskCek);
  if (need.empty()) return;
  if (!o.offline) {
    for (const auto& r : collateral::fetch_hygon_collateral(chip_id, need, cache, hygon_fetch_options(o.kds, ctx))) {
      if (r.error) ctx.warn(std::string("cannot fetch the ") + collateral::hygon_item_name(r.item) + ": " + r.error->message);
      else if (r.downloaded) ctx.info(std::string("fetched ") + collateral::hygon_item_name(r.item) + " into " + r.file);
    }
  }
  if (!in.hrk) {
    auto h = cache.hrk();
    if (!h) ctx.warn(h.error().message);
    else if (*h) in.hrk = std::move(**h);
  }
  if (!in.hsk_cek && !chip_id.empty()) {
    auto h = cache.hsk_cek(chip_id);
    if (!h) ctx.warn(h.error().message);
    else if (*h) {
      in.hsk_cek = std::move(**h);
      in.hsk_cek_source = "the cache (" + cache.hsk_cek_file(chip_id) + ")";
    }
  }
}

// --trust-sim-root DIR: the simulator's HRK is trusted by fingerprint (it must also carry the
// simulator's marker), and DIR is a trusted store for its HSK||CEK.
Status add_sim_roots(const ReportOptions& o, ::cci::verify::CsvInputs& in) {
  for (const auto& dir : o.trust_sim_roots) {
    auto hrk = read_file(sim::csv_sim_hrk_file(dir), 1 << 16);
    if (!hrk) {
      return make_error(ErrorCode::kIo, "--trust-sim-root " + dir + ": no simulated Hygon CSV platform there (cci-run sim init DIR --vendor hygon)",
                        "trust-sim-root");
    }
    in.simulated_roots.push_back(crypto::digest(crypto::DigestAlg::kSha256, *hrk));
    if (!in.hrk) in.hrk = std::move(*hrk);
    if (!in.hsk_cek) {
      auto hc = read_file(sim::csv_sim_hsk_cek_file(dir), 1 << 16);
      if (!hc) return hc.error();
      in.hsk_cek = std::move(*hc);
      in.hsk_cek_source = "the simulator in " + dir;
    }
  }
  return {};
}

Result<Bytes> hex_field(const std::string& text, const char* flag, size_t size) {
  if (text.empty()) return Bytes(size, 0);
  auto b = from_hex(text, flag, size);
  if (!b) return make_error(ErrorCode::kUsage, b.error().message, flag);
  return b;
}

}  // namespace

int run_csv_report(const ReportOptions& o, const Bytes& data, const cli::Context& ctx, std::optional<Bytes> carried_hrk) {
  const std::string schema = "cci.verify.report.v1";
  for (const auto* amd_only : {&o.vek, &o.cert_table, &o.product, &o.crl}) {
    if (!amd_only->empty()) return ctx.fail(make_error(ErrorCode::kUsage, "--vek, --cert-table, --product and --crl are for SEV-SNP reports; this is Hygon CSV evidence"), schema);
  }
  auto ev = csv::extract_evidence(data);
  if (!ev) return ctx.fail(make_error(ev.error().code, o.file + ": " + ev.error().message, ev.error().field), schema);
  ::cci::verify::CsvInputs in;
  in.evidence = std::move(*ev);
  if (in.evidence.envelope_has_hsk_cek) ctx.info("the evidence carries HSK/CEK: not used (they would not bind the chip ID)");
  auto hrk = read_optional(o.hrk, 1 << 16);
  if (!hrk) return ctx.fail(hrk.error(), schema);
  in.hrk = std::move(*hrk);
  if (!in.hrk && carried_hrk) in.hrk = std::move(carried_hrk);
  auto hsk_cek = read_optional(o.hsk_cek, 1 << 16);
  if (!hsk_cek) return ctx.fail(hsk_cek.error(), schema);
  in.hsk_cek = std::move(*hsk_cek);
  in.hsk_cek_source = "--hsk-cek " + o.hsk_cek;
  if (auto st = add_sim_roots(o, in); !st) return ctx.fail(st.error(), schema);
  auto parsed = csv::parse_report(in.evidence.report, in.evidence.version);
  if (parsed) resolve_csv_collateral(o, parsed->chip_id, in, ctx);

  auto setup = policy_setup(o, "csv");
  if (!setup) return ctx.fail(setup.error(), schema);
  policy::CsvExpectations expect;
  expect.measurements = setup->measurements;
  expect.report_data = setup->report_data;
  expect.insecure_unpinned_v1 = o.insecure_unpinned_v1;
  expect.insecure_any_measurement = o.insecure_any_measurement;
  auto vm_id = hex_field(o.vm_id, "--vm-id", 16);
  auto vm_version = hex_field(o.vm_version, "--vm-version", 16);
  auto upd = hex_field(o.user_pubkey_digest, "--user-pubkey-digest", 32);
  if (!vm_id) return ctx.fail(vm_id.error(), schema);
  if (!vm_version) return ctx.fail(vm_version.error(), schema);
  if (!upd) return ctx.fail(upd.error(), schema);
  expect.vm_id = std::move(*vm_id);
  expect.vm_version = std::move(*vm_version);
  expect.user_pubkey_digest = std::move(*upd);

  auto log = read_optional(o.event_log, 64 << 20);
  if (!log) return ctx.fail(log.error(), schema);
  if (!*log && in.evidence.event_log) log = in.evidence.event_log;  // untrusted until it replays to the signed RTMRs
  if (*log) {
    auto events = csv::parse_event_log(**log);
    expect.replayed = events ? csv::replay_rtmrs(*events) : Result<csv::Rtmrs>(events.error());
  }

  auto v = ::cci::verify::verify_csv(in);
  ::cci::verify::CheckList findings;
  if (v.passed) findings = policy::evaluate_csv_policy(setup->policy, *v.report, expect);
  Verdict verdict;
  verdict.vendor = "hygon";
  verdict.format = in.evidence.format;
  verdict.checks = &v.checks;
  verdict.findings = v.passed ? &findings : nullptr;
  verdict.policy_source = setup->source;
  verdict.authentic = v.passed;
  verdict.missing = v.missing_collateral;
  verdict.simulated = v.simulated;
  if (v.report) {
    verdict.report = csv_report_json(*v.report);
    verdict.measurement_hex = to_hex(v.report->measure);
    verdict.what = std::string(v.simulated ? "Hygon CSV " : "genuine Hygon CSV ") + (v.report->version == csv::ReportVersion::kV1 ? "V1" : "V2") + " report from chip " + v.report->chip_id;
  }
  return print_verdict(o, verdict, ctx);
}

int run_csv_show(const std::string& file, const Bytes& data, const cli::Context& ctx) {
  const std::string schema = "cci.verify.show.v1";
  auto ev = csv::extract_evidence(data);
  if (!ev) return ctx.fail(make_error(ev.error().code, file + ": " + ev.error().message, ev.error().field), schema);
  auto r = csv::parse_report(ev->report, ev->version);
  if (!r) return ctx.fail(make_error(r.error().code, file + ": " + r.error().message, r.error().field), schema);
  cli::Json j = csv_report_json(*r);
  if (ctx.options().json) {
    ctx.out_json(schema, 0, cli::Json{{"result", "ok"}, {"verified", false}, {"vendor", "hygon"}, {"format", ev->format}, {"report", j}});
    return 0;
  }
  ctx.info("decoded only: nothing here is verified (use cci-verify report)");
  for (const auto& [k, val] : j.items()) ctx.out(k + ": " + (val.is_string() ? val.get<std::string>() : val.dump()));
  return 0;
}

}  // namespace cci::tools::verify
