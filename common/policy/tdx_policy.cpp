#include "policy/tdx_policy.h"

#include <algorithm>

#include "base/hex.h"
#include "policy/policy_keys.h"
#include "policy/policy_util.h"

namespace cci::policy {
namespace {

using detail::same_bytes;
using verify::CheckList;

void check_tcb_status(CheckList& out, const Json& p, const verify::TdxTcbVerdict& t) {
  bool accepted = t.status == "UpToDate";
  std::string accepting = "UpToDate";
  if (p.contains("tdx_accept_tcb_status")) {
    for (const auto& s : p["tdx_accept_tcb_status"]) {
      accepting += ", " + s.get<std::string>();
      if (t.status != "Revoked" && s == t.status) accepted = true;
    }
  }
  std::string detail = "TCB status " + t.status + " (TDX level " + t.tdx_status + (t.module_status.empty() ? "" : ", module " + t.module_status) +
                       ", QE " + t.qe_status + "; TCB evaluation data number " + std::to_string(t.evaluation_data_number) + ")";
  if (!t.advisory_ids.empty()) {
    detail += ", advisories";
    for (const auto& a : t.advisory_ids) detail += " " + a;
  }
  if (!accepted) detail += ": the policy accepts " + accepting + " (tdx_accept_tcb_status, --accept-tcb-status)";
  else if (t.status != "UpToDate") detail += ": accepted by the policy's tdx_accept_tcb_status";
  out.add("policy.tcb_status", accepted, detail);
  if (p.contains("min_tcb_evaluation_number")) {
    const unsigned want = p["min_tcb_evaluation_number"].get<unsigned>();
    out.compare("policy.min_tcb_evaluation_number", t.evaluation_data_number >= want, "TCB evaluation data number",
                std::to_string(t.evaluation_data_number), "at least " + std::to_string(want));
  }
}

void check_event_log(CheckList& out, const tdx::TdReport& b, const TdxExpectations& ex) {
  if (!ex.replayed) {
    out.skip("policy.event_log", "no CC event log given (--event-log): RTMR0-3 not compared with a replay");
    return;
  }
  if (!*ex.replayed) {
    out.add("policy.event_log", false, "CC event log: " + ex.replayed->error().message);
    return;
  }
  std::string bad;
  for (size_t i = 0; i < b.rtmr.size(); ++i) {
    if (!same_bytes(b.rtmr[i], (**ex.replayed)[i])) bad += (bad.empty() ? "RTMR" : ", RTMR") + std::to_string(i);
  }
  out.add("policy.event_log", bad.empty(),
          bad.empty() ? "the CC event log replays to RTMR0-3" : "the CC event log does not replay to " + bad + " (log altered, incomplete or another TD's)");
}

std::string differing(const tdx::TdReport& b, const TdxReference& r) {
  std::string bad;
  if (r.rtmrs) {
    for (size_t i = 0; i < 4; ++i) {
      if (!same_bytes((*r.rtmrs)[i], b.rtmr[i])) bad += (bad.empty() ? "RTMR" : ", RTMR") + std::to_string(i);
    }
  }
  if (r.mr_config_id && !same_bytes(*r.mr_config_id, b.mr_config_id)) bad += (bad.empty() ? "" : ", ") + std::string("MRCONFIGID");
  return bad;
}

// RTMR0-3 and MRCONFIGID against the references recorded for the quote's MRTD.
void check_references(CheckList& out, const tdx::TdReport& b, const TdxExpectations& ex) {
  if (ex.references.empty()) {
    out.skip("policy.rtmr", "no TDX reference values (a deployment manifest's rtmrs): RTMR0-3 and MRCONFIGID not pinned");
    return;
  }
  std::string closest;
  bool any = false;
  for (const auto& r : ex.references) {
    if (!same_bytes(r.mr_td, b.mr_td)) continue;
    any = true;
    const std::string bad = differing(b, r);
    if (bad.empty()) {
      out.add("policy.rtmr", true, std::string("RTMR0-3") + (r.mr_config_id ? " and MRCONFIGID" : "") + " as the deployment manifest records them for this MRTD");
      return;
    }
    if (closest.empty() || bad.size() < closest.size()) closest = bad;
  }
  out.add("policy.rtmr", false,
          any ? closest + " differ from the deployment manifest's values for this MRTD (another kernel, command line, disk or launch configuration)"
              : "the deployment manifest records no RTMR values for MRTD " + to_hex(b.mr_td));
}

// Keys only another vendor's report can satisfy: not applicable, or failed when named on the
// command line for this very quote (a check asked for is never skipped).
void check_foreign_keys(CheckList& out, const Json& p, const TdxExpectations& ex) {
  for (const auto& [key, value] : p.items()) {
    if (!snp_only_key(key) && key != "csv_generation" && key != "min_firmware" && key != "min_abi") continue;
    const bool named = std::find(ex.named_fields.begin(), ex.named_fields.end(), key) != ex.named_fields.end();
    if (named) out.add("policy." + key, false, key + " was given on the command line, but an Intel TDX quote has no such field");
    else out.skip("policy." + key, key + " is another vendor's report field: not applicable to an Intel TDX quote");
  }
}

}  // namespace

CheckList evaluate_tdx_policy(const Json& p, const verify::Verified<tdx::Quote>& quote, const verify::TdxTcbVerdict& tcb, const TdxExpectations& ex) {
  const tdx::TdReport& b = quote->body;
  CheckList out;
  detail::check_permission(out, p, "allow_debug", "policy.debug", b.debug(), "TD debugging (TD_ATTRIBUTES.DEBUG, bit 0)");
  check_tcb_status(out, p, tcb);
  if (ex.measurements.empty()) add_unpinned_measurement(out, ex.insecure_any_measurement);
  else detail::check_measurement(out, ex.measurements, b.mr_td, "MRTD");
  check_references(out, b, ex);
  if (!ex.report_data) out.skip("policy.report_data", "no expected REPORT_DATA (give --report-data or --nonce): freshness not checked");
  else out.compare("policy.report_data", same_bytes(*ex.report_data, b.report_data), "REPORT_DATA", to_hex(b.report_data), to_hex(*ex.report_data));
  check_event_log(out, b, ex);
  check_foreign_keys(out, p, ex);
  detail::check_gpu_only_keys(out, p, ex.named_fields, "an Intel TDX quote");
  return out;
}

}  // namespace cci::policy
