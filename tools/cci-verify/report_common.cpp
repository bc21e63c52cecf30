#include "report_common.h"

#include <ctime>

#include "appraise/composite.h"

#include "appraise/appraise.h"
#include "appraise/cache_collateral.h"
#include "appraise/expectations.h"
#include "base/file_io.h"
#include "base/hex.h"
#include "cli/inputs.h"
#include "crypto/digest.h"
#include "evidence/evidence_file.h"
#include "ratls/fresh.h"
#include "manifest/deployment.h"
#include "policy/policy_keys.h"

namespace cci::tools::verify {
namespace {

Result<std::optional<Bytes>> read_optional(const std::string& path, size_t max) {
  if (path.empty()) return std::optional<Bytes>();
  CCI_ASSIGN(d, read_file(path, max));
  return std::optional<Bytes>(std::move(d));
}

Result<Bytes> hex_field(const std::string& text, const char* flag, size_t size) {
  if (text.empty()) return Bytes(size, 0);
  auto b = hex_arg(text, flag, size);
  if (!b) return make_error(ErrorCode::kUsage, b.error().message, flag);
  return b;
}

// The relying party's expectations: a verified release (cert, remote) or --deployment with its key,
// then --policy, the permissions named on the command line, --measurement, REPORT_DATA.
Result<appraise::Expectations> expectations_of(const ReportOptions& o) {
  appraise::Expectations e;
  if (o.release) {
    CCI_TRY(appraise::apply_release(*o.release, o.release_label, e));
  } else if (!o.manifest.empty()) {
    CCI_ASSIGN(signer, cli::load_release_signer(o.manifest_key, o.release_keyless));
    CCI_ASSIGN(data, read_file(o.manifest, manifest::kMaxManifestBytes));
    auto m = manifest::verify_deployment(data, signer, std::time(nullptr));
    if (!m) return make_error(m.error().code, o.manifest + ": " + m.error().message, m.error().field);
    CCI_TRY(appraise::apply_deployment(*m, o.manifest, e));
  }
  if (!o.policy_file.empty()) {
    CCI_ASSIGN(text, read_file(o.policy_file, manifest::kMaxDeploymentYamlBytes));
    CCI_SET(e.policy, manifest::parse_policy_yaml(as_chars(text), o.policy_file));
    e.policy_source = "policy file " + o.policy_file;
  }
  std::string named;
  for (const auto& f : policy::field_flags()) {
    auto it = o.fields.find(f.key);
    if (it == o.fields.end() || it->second.empty()) continue;
    CCI_TRY(policy::set_policy_field(e.policy, f, it->second));
    e.named_fields.push_back(f.key);
    named += (named.empty() ? "" : ", ") + std::string(f.flag);
  }
  if (!named.empty()) e.policy_source += " + " + named;
  if (o.insecure_allow_debug) e.policy["allow_debug"] = true;
  if (o.allow_vlek) e.policy["allow_vlek"] = true;
  e.measurement_flags = o.measurements;
  e.insecure_any_measurement = o.insecure_any_measurement;
  e.insecure_unpinned_v1 = o.insecure_unpinned_v1;
  if (!o.report_data.empty() && !o.nonce.empty()) return make_error(ErrorCode::kUsage, "give --report-data or --nonce, not both");
  if (!o.report_data.empty()) {
    auto b = hex_arg(o.report_data, "--report-data", 64);
    if (!b) return make_error(ErrorCode::kUsage, b.error().message, "report-data");
    e.report_data = std::move(*b);
  }
  if (!o.nonce.empty()) {
    auto b = hex_arg(o.nonce, "--nonce");
    if (!b || b->empty() || b->size() > 64) return make_error(ErrorCode::kUsage, "--nonce must be 1 to 64 bytes of hex", "nonce");
    e.nonce_size = b->size();
    b->resize(64, 0);  // REPORT_DATA = nonce, zero-padded
    e.report_data = std::move(*b);
  }
  CCI_SET(e.vm_id, hex_field(o.vm_id, "--vm-id", 16));
  CCI_SET(e.vm_version, hex_field(o.vm_version, "--vm-version", 16));
  CCI_SET(e.user_pubkey_digest, hex_field(o.user_pubkey_digest, "--user-pubkey-digest", 32));
  CCI_SET(e.event_log, read_optional(o.event_log, 64 << 20));
  return e;
}

appraise::GivenCollateral given_collateral(const ReportOptions& o) {
  appraise::GivenCollateral g;
  g.vek = o.vek;
  g.cert_chain = o.cert_chain;
  g.cert_table = o.cert_table;
  g.crl = o.crl;
  g.hrk = o.hrk;
  g.hsk_cek = o.hsk_cek;
  g.tdx_collateral = o.tdx_collateral;
  g.azure_hcl = o.azure_hcl;
  g.gpu_driver_rims = o.driver_rims;
  g.gpu_vbios_rims = o.vbios_rims;
  g.gpu_ocsp = o.ocsp;
  return g;
}

Result<appraise::Request> request_of(const ReportOptions& o, Bytes data) {
  appraise::Request r;
  r.evidence = std::move(data);
  r.label = o.file;
  r.vendor = o.vendor;
  if (!o.product.empty()) {
    r.product = snp::product_from_name(o.product);
    if (!r.product) return make_error(ErrorCode::kUsage, "--product must be Milan, Genoa or Turin");
  }
  CCI_SET(r.at, cli::parse_time(o.at));
  r.crl_required = !o.insecure_no_crl;
  r.trust_sim_roots = o.trust_sim_roots;
  r.given = given_collateral(o);
  CCI_SET(r.expect, expectations_of(o));
  return r;
}

cli::Json checks_json(const ::cci::verify::CheckList& list) {
  cli::Json out = cli::Json::array();
  for (const auto& c : list.items()) {
    cli::Json j{{"id", c.id}, {"status", ::cci::verify::outcome_name(c.outcome)}, {"detail", c.detail}};
    if (!c.expected.empty()) {
      j["actual"] = c.actual;
      j["expected"] = c.expected;
    }
    out.push_back(std::move(j));
  }
  return out;
}

const char* reason_of(appraise::Outcome o, bool authentic) {
  if (o == appraise::Outcome::kMissingCollateral) return "MISSING_COLLATERAL";
  return authentic ? "POLICY_VIOLATION" : "VERIFICATION_FAILED";
}

int exit_code_of(appraise::Outcome o) {
  switch (o) {
    case appraise::Outcome::kAccepted: return cli::to_int(cli::ExitCode::kOk);
    case appraise::Outcome::kMissingCollateral: return cli::to_int(cli::ExitCode::kCannotEvaluate);
    case appraise::Outcome::kRejected: break;
  }
  return cli::to_int(cli::ExitCode::kRejected);
}

}  // namespace

// The verdict, as text or as the cci.verify.report.v1 document.
int print_verdict(const ReportOptions& o, const appraise::Verdict& v, const cli::Context& ctx) {
  const bool accepted = v.outcome == appraise::Outcome::kAccepted;
  const int rc = exit_code_of(v.outcome);
  const std::string schema = "cci.verify.report.v1";
  if (ctx.options().json) {
    cli::Json body{{"result", accepted ? "pass" : "fail"}};
    if (!accepted) body["reason"] = reason_of(v.outcome, v.authentic);
    body["file"] = o.file;
    body["simulated"] = v.simulated;
    body["vendor"] = v.vendor;
    body["format"] = v.format;
    body["checks"] = checks_json(v.checks);
    body["policy"] = {{"source", v.policy_source}, {"applied", v.findings.has_value()}, {"findings", v.findings ? checks_json(*v.findings) : cli::Json::array()}};
    if (!v.report.is_null()) {
      body["report"] = v.report;
      if (v.simulated) body["report"]["simulated"] = true;
    }
    for (const auto& [k, val] : o.extra.items()) body[k] = val;
    ctx.out_json(schema, rc, body);
    return rc;
  }
  auto print = [&ctx](const ::cci::verify::CheckList& list) {
    for (const auto& c : list.items()) {
      std::string word = c.outcome == ::cci::verify::Outcome::kSkip ? "SKIP" : ctx.paint_ok(c.outcome == ::cci::verify::Outcome::kPass);
      ctx.out(word + "  " + c.id + ": " + c.detail);
    }
  };
  print(v.checks);
  if (v.findings) {
    ctx.info("policy: " + v.policy_source);
    print(*v.findings);
  }
  if (v.simulated) ctx.warn("SIMULATED evidence (cci-run sim, trusted by --trust-sim-root): no hardware protects this VM");
  if (accepted && v.simulated) {
    ctx.out("verified SIMULATED: " + o.file + " is a SIMULATED " + v.what + ", NOT hardware (measurement " + v.measurement_hex + ")");
  } else if (accepted) {
    ctx.out("verified: " + o.file + " is " + (v.measurement_hex.empty() ? v.what : "a " + v.what + " (measurement " + v.measurement_hex + ")"));
  }
  if (accepted) {
    for (const auto& line : o.extra_lines) ctx.out(line);
    for (const auto& w : v.warnings) ctx.warn(w);
  } else if (v.authentic) {
    ctx.error(o.file + " is a " + v.what + ", but it does not meet the policy (" + v.policy_source + ")");
  } else if (v.outcome == appraise::Outcome::kMissingCollateral) {
    ctx.error(o.file + ": cannot evaluate without the missing collateral (see the failed checks)");
  } else {
    ctx.error(o.file + " is not a verified " + v.tee_name + " report");
  }
  return rc;
}

void add_field_flags(CLI::App* sub, ReportOptions& o) {
  for (const auto& f : policy::field_flags()) {
    sub->add_option(f.flag, o.fields[f.key], f.help)->type_name(f.value)->group("Expected fields (compose with --policy)");
  }
}

Result<appraise::Verdict> appraise_bytes(const ReportOptions& o, Bytes data, const cli::Context& ctx) {
  CCI_ASSIGN(request, request_of(o, std::move(data)));
  appraise::CacheCollateralOptions co;
  co.cache_dir = o.kds.cache_dir;
  co.offline = o.offline;
  co.amd = fetch_options(o.kds, ctx);
  co.hygon = hygon_fetch_options(o.kds, ctx);
  co.intel = pcs_fetch_options(o.kds, ctx);
  co.intel.at = request.at;
  co.tdx_early = o.kds.tdx_update == "early";
  co.nvidia = ocsp_fetch_options(o.kds, ctx);
  co.nvidia_rims = rim_fetch_options(o.kds, ctx);
  appraise::CacheCollateral collateral(std::move(co));
  appraise::Notes notes;
  notes.info = [&ctx](const std::string& m) { ctx.info(m); };
  notes.warn = [&ctx](const std::string& m) { ctx.warn(m); };
  return appraise::appraise(request, collateral, notes);
}

Result<appraise::Verdict> with_fresh_gpus(const ReportOptions& o, appraise::Verdict cpu, std::optional<Bytes> gpu, ByteView gpu_nonce,
                                          const cli::Context& ctx) {
  CCI_ASSIGN(request, request_of(o, Bytes{}));
  if (!gpu) return appraise::compose_with_gpus(std::move(cpu), std::nullopt, request.expect.policy);
  const appraise::Json policy = request.expect.policy;
  auto r = appraise::fresh_gpu_request(std::move(request), std::move(*gpu), gpu_nonce);
  appraise::CacheCollateralOptions co;
  co.cache_dir = o.kds.cache_dir;
  co.offline = o.offline;  // RIMs and OCSP answers: given, or from the cache, asked for live unless --offline
  co.intel.at = r.at;
  co.nvidia = ocsp_fetch_options(o.kds, ctx);
  co.nvidia_rims = rim_fetch_options(o.kds, ctx);
  appraise::CacheCollateral collateral(std::move(co));
  appraise::Notes notes;
  notes.info = [&ctx](const std::string& m) { ctx.info(m); };
  notes.warn = [&ctx](const std::string& m) { ctx.warn(m); };
  CCI_ASSIGN(g, appraise::appraise(r, collateral, notes));
  return appraise::compose_with_gpus(std::move(cpu), std::move(g), policy);
}

ReportOptions cpu_only(const ReportOptions& o) {
  ReportOptions c = o;
  c.driver_rims.clear();
  c.vbios_rims.clear();
  c.ocsp.clear();
  return c;
}

int run_report_bytes(const ReportOptions& o, Bytes data, const cli::Context& ctx) {
  const std::string schema = "cci.verify.report.v1";
  // Evidence from cci-run attest --gpu: the CPU report's REPORT_DATA binds the nonce and the GPU
  // evidence the file carries (ratls::attest_report_data); one verdict over both.
  std::optional<Bytes> gpu;
  if (auto f = evidence::parse_evidence_file(data); f && f->gpu_evidence) gpu = std::move(f->gpu_evidence);
  if (!gpu) {
    auto verdict = appraise_bytes(o, std::move(data), ctx);
    if (!verdict) return ctx.fail(verdict.error(), schema);
    return print_verdict(o, *verdict, ctx);
  }
  if (o.nonce.empty() || !o.report_data.empty()) {
    return ctx.fail(make_error(ErrorCode::kUsage,
                               o.file + " carries GPU evidence bound to the verifier's nonce: give --nonce (REPORT_DATA is derived from it and the GPU "
                               "evidence), not --report-data",
                               "nonce"),
                    schema);
  }
  auto nonce = hex_arg(o.nonce, "--nonce");
  if (!nonce || nonce->empty() || nonce->size() > 64) return ctx.fail(make_error(ErrorCode::kUsage, "--nonce must be 1 to 64 bytes of hex", "nonce"), schema);
  ctx.info("GPU evidence: carried by the evidence file, bound to the CPU report's REPORT_DATA with the nonce");
  ReportOptions cpu_options = cpu_only(o);
  cpu_options.nonce.clear();
  cpu_options.report_data = to_hex(ratls::attest_report_data(*nonce, *gpu));
  auto cpu = appraise_bytes(cpu_options, std::move(data), ctx);
  if (!cpu) return ctx.fail(cpu.error(), schema);
  ReportOptions shown = o;
  shown.extra["gpu_evidence_sha256"] = to_hex(crypto::digest(crypto::DigestAlg::kSha256, *gpu));
  auto verdict = with_fresh_gpus(o, std::move(*cpu), std::move(gpu), ratls::attest_gpu_nonce(*nonce), ctx);
  if (!verdict) return ctx.fail(verdict.error(), schema);
  return print_verdict(shown, *verdict, ctx);
}

}  // namespace cci::tools::verify
