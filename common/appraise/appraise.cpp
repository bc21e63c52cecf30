#include "appraise/appraise.h"

#include "appraise/appraisers.h"
#include "base/hex.h"
#include "evidence/evidence_file.h"

namespace cci::appraise {
namespace {

Error labelled(const std::string& label, const Error& e) { return make_error(e.code, label + ": " + e.message, e.field); }

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
  static const std::vector<const Appraiser*> table = {&csv_appraiser(), &snp_appraiser()};
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

}  // namespace

Result<Verdict> appraise(const Request& r, CollateralSource& c, const Notes& n) {
  CCI_ASSIGN(chosen, pick(r.vendor, r.evidence));  // checks --vendor even for evidence files
  if (evidence::looks_like_evidence_file(r.evidence)) {
    auto e = evidence::parse_evidence_file(r.evidence);
    if (!e) return labelled(r.label, e.error());
    const Appraiser* a = appraiser_for_tee(e->tee);
    if (!a) return make_error(ErrorCode::kUnsupported, r.label + ": no appraiser for tee '" + e->tee + "'", "tee");
    CCI_ASSIGN(x, from_evidence_file(*e));
    return a->appraise(std::move(x), r, c, n);
  }
  Extracted x;
  x.format = "raw";
  x.report = r.evidence;
  return chosen->appraise(std::move(x), r, c, n);
}

namespace {

// A cci.evidence.v1 file (cci-run attest) names its TEE and carries the vendor's report: the
// appraiser for that TEE and the report bytes. Any other input: the vendor by shape (or `vendor`).
struct Unwrapped {
  const Appraiser* appraiser = nullptr;
  Bytes report;
  bool evidence_file = false;
};
Result<Unwrapped> unwrap(ByteView input, const std::string& vendor) {
  CCI_ASSIGN(chosen, pick(vendor, input));
  Unwrapped u;
  if (!evidence::looks_like_evidence_file(input)) {
    u.appraiser = chosen;
    u.report.assign(input.begin(), input.end());
    return u;
  }
  CCI_ASSIGN(e, evidence::parse_evidence_file(input));
  u.appraiser = appraiser_for_tee(e.tee);
  if (!u.appraiser) return make_error(ErrorCode::kUnsupported, "no appraiser for tee '" + e.tee + "'", "tee");
  if (vendor != "auto" && vendor != u.appraiser->vendor()) {
    return make_error(ErrorCode::kUsage, "--vendor " + vendor + " but the evidence file is " + evidence::tee_display_name(e.tee), "vendor");
  }
  u.report = std::move(e.report);
  u.evidence_file = true;
  return u;
}

}  // namespace

Result<FetchReport> fetch_collateral(ByteView input, const std::string& vendor, const FetchRequest& r) {
  CCI_ASSIGN(u, unwrap(input, vendor));
  return u.appraiser->fetch(u.report, r);
}

Result<Description> describe(ByteView input, std::optional<snp::Product> product) {
  CCI_ASSIGN(u, unwrap(input, "auto"));
  Description d;
  d.vendor = u.appraiser->vendor();
  CCI_SET(d.report, u.appraiser->describe(u.report, product, d.format));
  if (u.evidence_file) d.format = "cci.evidence.v1 (" + d.format + ")";
  return d;
}

}  // namespace cci::appraise
