#include "appraise/appraise.h"
#include "appraise/event_log_view.h"

#include "appraise/appraisers.h"
#include "base/hex.h"
#include "evidence/evidence_file.h"

namespace cci::appraise {
namespace {

// What a cci.evidence.v1 file carries: the report, and certificates as candidates.
Result<Extracted> from_evidence_file(const evidence::EvidenceFile& e) {
  Extracted x;
  x.format = "cci.evidence.v1";
  x.from_evidence_file = true;
  x.report = e.report;
  auto load = [](const std::string& pem) { return crypto::parse_pem_bundle(as_bytes(pem)); };
  if (e.vek_pem) {
    auto v = load(*e.vek_pem);
    if (!v || v->empty()) return make_error(v ? ErrorCode::kMalformed : v.error().code, "evidence file: vek: " + (v ? std::string("no certificate") : v.error().message), "vek");
    x.vek = std::move((*v)[0]);
  }
  if (e.cert_chain_pem) {
    auto c = load(*e.cert_chain_pem);
    if (!c) return make_error(c.error().code, "evidence file: cert_chain: " + c.error().message, "cert_chain");
    for (auto& cert : *c) x.certificates.push_back(std::move(cert));
  }
  x.hrk = e.hrk;
  x.event_log = e.event_log;
  return x;
}

}  // namespace

Result<std::vector<Bytes>> expected_measurements(const Expectations& e, const std::string& platform, size_t size) {
  std::vector<Bytes> out;
  if (auto it = e.measurements.find(platform); it != e.measurements.end()) out = it->second;
  for (const auto& m : e.measurement_flags) {
    auto b = hex_arg(m, "--measurement", size);
    if (!b) return make_error(ErrorCode::kUsage, b.error().message + " (" + platform + " measurements are " + std::to_string(size) + " bytes)", "measurement");
    out.push_back(std::move(*b));
  }
  return out;
}

const std::vector<const Appraiser*>& appraisers() {
  // Recognition order: the vendors with a recognisable shape first; SEV-SNP takes the rest (raw,
  // hex and Azure HCL reports have no magic number).
  static const std::vector<const Appraiser*> table = {&nvgpu_appraiser(), &csv_appraiser(), &tdx_appraiser(), &snp_appraiser()};
  return table;
}

const Appraiser* appraiser_for_vendor(const std::string& vendor) {
  for (const auto* a : appraisers()) {
    if (vendor == a->vendor()) return a;
  }
  return nullptr;
}

namespace {

const Appraiser* appraiser_for_tee(const std::string& tee) {
  const std::string plain = tee.rfind("sim-", 0) == 0 ? tee.substr(4) : tee;
  for (const auto* a : appraisers()) {
    if (plain == a->tee()) return a;
  }
  return nullptr;
}

Result<const Appraiser*> pick(const std::string& vendor, ByteView raw) {
  if (vendor != "auto") {
    if (const auto* a = appraiser_for_vendor(vendor)) return a;
    std::string names;
    for (const auto* a : appraisers()) names += std::string(names.empty() ? "" : ", ") + a->vendor();
    return make_error(ErrorCode::kUsage, "--vendor must be auto or one of " + names, "vendor");
  }
  for (const auto* a : appraisers()) {
    if (a->recognises(raw)) return a;
  }
  return make_error(ErrorCode::kMalformed, "no TEE vendor recognises this input", "evidence");
}

// The evidence as one appraiser takes it. A cci.evidence.v1 file (cci-run attest) names its TEE
// and carries the vendor's report (and certificates); any other input goes to the vendor its
// shape says, or that --vendor names. --vendor is checked in both cases, and must agree with the
// file's TEE. `label` names the input in errors (empty: the caller names it).
struct Unwrapped {
  const Appraiser* appraiser = nullptr;
  std::optional<evidence::EvidenceFile> file;
};
Result<Unwrapped> unwrap(ByteView input, const std::string& vendor, const std::string& label) {
  CCI_ASSIGN(chosen, pick(vendor, input));
  Unwrapped u;
  if (!evidence::looks_like_evidence_file(input)) {
    u.appraiser = chosen;
    return u;
  }
  const std::string prefix = label.empty() ? "" : label + ": ";
  auto e = evidence::parse_evidence_file(input);
  if (!e) return make_error(e.error().code, prefix + e.error().message, e.error().field);
  u.appraiser = appraiser_for_tee(e->tee);
  if (!u.appraiser) return make_error(ErrorCode::kUnsupported, prefix + "no appraiser for tee '" + e->tee + "'", "tee");
  if (vendor != "auto" && vendor != u.appraiser->vendor()) {
    return make_error(ErrorCode::kUsage, prefix + "--vendor " + vendor + ", but this is " + evidence::tee_display_name(e->tee) + " evidence", "vendor");
  }
  u.file = std::move(*e);
  return u;
}

}  // namespace

Result<Verdict> appraise(const Request& r, CollateralSource& c, const Notes& n) {
  CCI_ASSIGN(u, unwrap(r.evidence, r.vendor, r.label));
  if (u.appraiser != &nvgpu_appraiser() && (!r.given.gpu_driver_rims.empty() || !r.given.gpu_vbios_rims.empty() || !r.given.gpu_ocsp.empty())) {
    return make_error(ErrorCode::kUsage, "--driver-rim, --vbios-rim and --ocsp are for NVIDIA GPU evidence; this is " + std::string(u.appraiser->tee()) + " evidence", "driver-rim");
  }
  if (u.file) {
    CCI_ASSIGN(x, from_evidence_file(*u.file));
    return u.appraiser->appraise(std::move(x), r, c, n);
  }
  Extracted x;
  x.format = "raw";
  x.report = r.evidence;
  return u.appraiser->appraise(std::move(x), r, c, n);
}

Result<FetchReport> fetch_collateral(ByteView input, const std::string& vendor, const FetchRequest& r) {
  CCI_ASSIGN(u, unwrap(input, vendor, r.label));
  return u.appraiser->fetch(u.file ? ByteView(u.file->report) : input, r);
}

Result<Description> describe(ByteView input, std::optional<snp::Product> product, std::optional<ByteView> event_log) {
  CCI_ASSIGN(u, unwrap(input, "auto", ""));
  Description d;
  d.vendor = u.appraiser->vendor();
  const ByteView raw = u.file ? ByteView(u.file->report) : input;
  CCI_SET(d.report, u.appraiser->describe(raw, product, d.format));
  if (u.file) d.format = "cci.evidence.v1 (" + d.format + ")";
  // The GPUs' evidence an evidence file carries (cci-run attest --gpu), decoded beside the report.
  if (u.file && u.file->gpu_evidence) {
    std::string gpu_format;
    CCI_ASSIGN(gpus, nvgpu_appraiser().describe(*u.file->gpu_evidence, std::nullopt, gpu_format));
    d.report["gpus"] = gpus.contains("gpus") ? gpus["gpus"] : Json::array();
  }
  // The event log given, else the one the evidence file carries (TDX).
  if (!event_log && u.file && u.file->event_log) event_log = ByteView(*u.file->event_log);
  if (event_log) {
    std::optional<std::array<tdx::Hash48, 4>> rtmrs;
    if (d.vendor == "intel") {
      CCI_ASSIGN(q, tdx::parse_quote(raw));
      rtmrs = q.body.rtmr;
    }
    CCI_SET(d.event_log, describe_event_log(*event_log, rtmrs));
  }
  return d;
}

}  // namespace cci::appraise
