#include "policy/csv_policy.h"

#include "base/hex.h"
#include "policy/policy_keys.h"
#include "policy/policy_util.h"

#include <algorithm>

namespace cci::policy {
namespace {

using verify::CheckList;
using detail::same_bytes;

bool bit(std::uint32_t v, unsigned b) { return ((v >> b) & 1) != 0; }

// Guest policy bits (csv-rs GuestPolicy): 0 NODBG, 2 ES (CSV2), 5 CSV, 6 CSV3, 23:16 API major,
// 31:24 API minor.
std::string generation_of(std::uint32_t policy) {
  if (bit(policy, 6)) return "csv3";
  if (bit(policy, 2)) return "csv2";
  return "csv";
}

void check_generation(CheckList& out, const Json& p, const csv::Report& r) {
  const std::string have = generation_of(r.policy);
  if (!p.contains("csv_generation")) {
    out.skip("policy.csv_generation", "no CSV generation required by the policy (guest is " + have + ")");
    return;
  }
  const std::string want = p["csv_generation"];
  auto rank = [](const std::string& g) { return g == "csv3" ? 3 : g == "csv2" ? 2 : 1; };
  out.compare("policy.csv_generation", rank(have) >= rank(want), "guest policy 0x" + to_hex_u64(r.policy) + ":", have, want + " or later");
}

void check_versions(CheckList& out, const Json& p, const csv::Report& r) {
  if (p.contains("min_firmware")) {
    const std::string want = p["min_firmware"];
    out.compare("policy.min_firmware", detail::version_at_least(r.pek.api_major, r.pek.api_minor, want), "firmware API (PEK certificate)",
                std::to_string(r.pek.api_major) + "." + std::to_string(r.pek.api_minor), "at least " + want);
  }
  if (p.contains("min_abi")) {
    const std::string want = p["min_abi"];
    const unsigned major = (r.policy >> 16) & 0xff, minor = (r.policy >> 24) & 0xff;
    out.compare("policy.min_abi", detail::version_at_least(major, minor, want), "API the guest policy requires",
                std::to_string(major) + "." + std::to_string(minor), "at least " + want);
  }
}

void check_pinned(CheckList& out, const csv::Report& r, const CsvExpectations& ex) {
  const bool v1 = r.version == csv::ReportVersion::kV1;
  const std::string unpinned_v1 =
      "a V1 report's fields are masked with an unsigned anonce: only an exact expected value catches a changed anonce (give it, or "
      "accept the risk with --insecure-unpinned-v1)";
  if (ex.measurements.empty()) {
    if (v1 && !ex.insecure_unpinned_v1) out.add("policy.measurement", false, "no expected measurement: " + unpinned_v1);
    else add_unpinned_measurement(out, ex.insecure_any_measurement || (v1 && ex.insecure_unpinned_v1));
  } else {
    detail::check_measurement(out, ex.measurements, r.measure, "measure");
  }
  if (!ex.report_data) {
    if (v1 && !ex.insecure_unpinned_v1) out.add("policy.report_data", false, "no expected REPORT_DATA: " + unpinned_v1);
    else out.skip("policy.report_data", "no expected REPORT_DATA (give --report-data or --nonce): freshness not checked");
  } else {
    out.compare("policy.report_data", same_bytes(*ex.report_data, r.report_data), "REPORT_DATA", to_hex(r.report_data), to_hex(*ex.report_data));
  }
}

void check_event_log(CheckList& out, const csv::Report& r, const CsvExpectations& ex) {
  if (!ex.replayed) {
    if (r.version == csv::ReportVersion::kV2) out.skip("policy.event_log", "no CC event log given: RTMR1-4 not compared with a replay");
    return;
  }
  if (r.version == csv::ReportVersion::kV1) {
    out.skip("policy.event_log", "a V1 report has no RTMRs: the event log cannot be checked against it");
    return;
  }
  if (!*ex.replayed) {
    out.add("policy.event_log", false, "CC event log: " + ex.replayed->error().message);
    return;
  }
  std::string bad;
  for (size_t i = 1; i < r.rtmr.size(); ++i) {
    if (!same_bytes(r.rtmr[i], (**ex.replayed)[i])) bad += (bad.empty() ? "RTMR" : ", RTMR") + std::to_string(i);
  }
  out.add("policy.event_log", bad.empty(),
          bad.empty() ? "the CC event log replays to RTMR1-4" : "the CC event log does not replay to " + bad + " (log altered or incomplete)");
}

void check_session_fields(CheckList& out, const csv::Report& r, const CsvExpectations& ex) {
  auto field = [&out](const char* id, const char* name, ByteView have, ByteView want) {
    out.compare(id, same_bytes(have, want), name, to_hex(have), to_hex(want));
  };
  field("policy.vm_id", "vm_id", r.vm_id, ex.vm_id);
  field("policy.vm_version", "vm_version", r.vm_version, ex.vm_version);
  field("policy.user_pubkey_digest", "user_pubkey_digest", r.user_pubkey_digest, ex.user_pubkey_digest);
}

// Keys only an SEV-SNP report can satisfy: listed as not applicable, or failed when the user named
// the field on the command line for this very report (a check asked for is never skipped).
void check_snp_only(CheckList& out, const Json& p, const CsvExpectations& ex) {
  for (const auto& [key, value] : p.items()) {
    if (!snp_only_key(key)) continue;
    const bool named = std::find(ex.named_fields.begin(), ex.named_fields.end(), key) != ex.named_fields.end();
    if (named) out.add("policy." + key, false, key + " was given on the command line, but it is an SEV-SNP report field: a Hygon CSV report has none");
    else out.skip("policy." + key, key + " is an SEV-SNP report field: not applicable to a Hygon CSV report");
  }
}

}  // namespace

CheckList evaluate_csv_policy(const Json& p, const verify::Verified<csv::Report>& report, const CsvExpectations& ex) {
  const csv::Report& r = *report;
  CheckList out;
  detail::check_permission(out, p, "allow_debug", "policy.debug", r.debug_allowed(), "guest debugging (NODBG, guest policy bit 0, clear)");
  check_generation(out, p, r);
  check_versions(out, p, r);
  if (r.version == csv::ReportVersion::kV2) {
    out.add("policy.rtmr0", same_bytes(r.rtmr[0], r.measure), "RTMR0 " + to_hex(r.rtmr[0]) + " (must equal measure)");
  }
  check_event_log(out, r, ex);
  check_pinned(out, r, ex);
  check_session_fields(out, r, ex);
  check_snp_only(out, p, ex);
  detail::check_tdx_only_keys(out, p, ex.named_fields, "a Hygon CSV report");
  detail::check_gpu_only_keys(out, p, ex.named_fields, "a Hygon CSV report");
  return out;
}

}  // namespace cci::policy
