#include "policy/snp_policy.h"

#include <cstdio>

#include "base/hex.h"
#include "policy/policy_util.h"

namespace cci::policy {
namespace {

using verify::CheckList;
using detail::check_permission;
using detail::version_at_least;

bool bit(std::uint64_t v, unsigned b) { return ((v >> b) & 1) != 0; }

void check_guest_policy(CheckList& out, const Json& p, const snp::Report& r, bool is_vlek) {
  check_permission(out, p, "allow_debug", "policy.debug", r.debug_allowed(), "guest debugging (POLICY bit 19)");
  check_permission(out, p, "allow_migration_agent", "policy.migration_agent", bit(r.policy, 18),
                   "migration agent (POLICY bit 18)");
  check_permission(out, p, "allow_vlek", "policy.vlek", is_vlek, "VLEK signing (cloud-provider key, no chip binding)");
  if (!p.value("allow_smt", true)) {
    out.add("policy.smt", !bit(r.policy, 16), bit(r.policy, 16) ? "SMT allowed by the guest policy, but the policy forbids SMT"
                                                                  : "SMT not allowed by the guest policy");
  }
  if (p.value("require_single_socket", false)) {
    out.add("policy.single_socket", bit(r.policy, 20), bit(r.policy, 20) ? "single socket required" : "single socket not required");
  }
  if (p.contains("max_vmpl")) {
    const auto max = p["max_vmpl"].get<std::uint32_t>();
    out.add("policy.vmpl", r.vmpl <= max, "VMPL " + std::to_string(r.vmpl) + " (maximum " + std::to_string(max) + ")");
  }
  if (p.contains("min_guest_svn")) {
    const auto min = p["min_guest_svn"].get<std::uint32_t>();
    out.add("policy.guest_svn", r.guest_svn >= min, "GUEST_SVN " + std::to_string(r.guest_svn) + " (minimum " + std::to_string(min) + ")");
  }
}

// Component-wise (never as one integer: the layouts differ per product).
void check_tcb(CheckList& out, const Json& p, const snp::Report& r, snp::Product product) {
  const snp::Tcb rep = snp::decode_tcb(r.reported_tcb, product);
  const snp::Tcb com = snp::decode_tcb(r.committed_tcb, product);
  const snp::Tcb cur = snp::decode_tcb(r.current_tcb, product);
  auto le = [](const snp::Tcb& a, const snp::Tcb& b) {
    return a.bootloader <= b.bootloader && a.tee <= b.tee && a.snp <= b.snp && a.microcode <= b.microcode &&
           a.fmc.value_or(0) <= b.fmc.value_or(0);
  };
  out.add("policy.tcb_order", le(rep, com) && le(com, cur),
          "REPORTED " + snp::tcb_text(rep) + " <= COMMITTED " + snp::tcb_text(com) + " <= CURRENT " + snp::tcb_text(cur));
  if (!p.contains("min_tcb")) {
    out.skip("policy.min_tcb", "no minimum TCB in the policy");
    return;
  }
  std::string low;
  const Json& m = p["min_tcb"];
  auto need = [&](const char* name, std::optional<std::uint8_t> have) {
    if (!m.contains(name)) return;
    const auto want = m[name].get<unsigned>();
    if (!have || *have < want) low += std::string(low.empty() ? "" : ", ") + name + " " + (have ? std::to_string(*have) : "absent") + " < " + std::to_string(want);
  };
  need("bootloader", rep.bootloader);
  need("tee", rep.tee);
  need("snp", rep.snp);
  need("microcode", rep.microcode);
  need("fmc", rep.fmc);
  out.add("policy.min_tcb", low.empty(), low.empty() ? "REPORTED_TCB " + snp::tcb_text(rep) + " meets the minimum" : "REPORTED_TCB below the minimum: " + low);
}

void check_versions(CheckList& out, const Json& p, const snp::Report& r) {
  if (p.contains("min_firmware")) {
    const std::string want = p["min_firmware"];
    const std::string have = std::to_string(r.current_major) + "." + std::to_string(r.current_minor);
    out.add("policy.min_firmware", version_at_least(r.current_major, r.current_minor, want),
            "firmware " + have + "." + std::to_string(r.current_build) + " (minimum " + want + ")");
  }
  if (p.contains("min_abi")) {
    const std::string want = p["min_abi"];
    const unsigned major = (r.policy >> 8) & 0xff, minor = r.policy & 0xff;
    out.add("policy.min_abi", version_at_least(major, minor, want),
            "guest policy requires ABI " + std::to_string(major) + "." + std::to_string(minor) + " (minimum " + want + ")");
  }
}

void check_bits(CheckList& out, const Json& p, const char* key, const char* id, std::optional<std::uint64_t> value,
                const char* field, bool want_set) {
  if (!p.contains(key)) return;
  if (!value) {
    out.add(id, false, std::string(field) + " is not in this report version");
    return;
  }
  std::string bad;
  for (const auto& b : p[key]) {
    const auto n = b.get<unsigned>();
    if (bit(*value, n) != want_set) bad += (bad.empty() ? "" : ", ") + std::to_string(n);
  }
  out.add(id, bad.empty(),
          std::string(field) + " 0x" + to_hex_u64(*value) + (bad.empty() ? " as required" : (want_set ? ": required bits clear: " : ": forbidden bits set: ") + bad));
}

void check_digest_field(CheckList& out, const Json& p, const char* key, const char* id, ByteView have, const char* field) {
  if (!p.contains(key)) return;
  auto want = from_hex(p[key].get<std::string>(), key);
  out.add(id, want && *want == Bytes(have.begin(), have.end()), std::string(field) + " " + to_hex(have));
}

void check_expectations(CheckList& out, const snp::Report& r, const Expectations& ex) {
  if (ex.measurements.empty()) {
    add_unpinned_measurement(out, ex.insecure_any_measurement);
  } else {
    bool found = false;
    for (const auto& m : ex.measurements) found = found || m == r.measurement;
    out.add("policy.measurement", found,
            "MEASUREMENT " + to_hex(r.measurement) + (found ? " is one of " : " is none of ") + std::to_string(ex.measurements.size()) +
                " expected value(s)");
  }
  if (!ex.report_data) {
    out.skip("policy.report_data", "no expected REPORT_DATA (give --report-data or --nonce): freshness not checked");
  } else {
    out.add("policy.report_data", *ex.report_data == r.report_data, "REPORT_DATA " + to_hex(r.report_data));
  }
}

}  // namespace

void add_unpinned_measurement(CheckList& out, bool insecure_any_measurement) {
  if (insecure_any_measurement) {
    out.skip("policy.measurement", "no expected measurement: ANY VM image is accepted (--insecure-any-measurement)");
    return;
  }
  out.add("policy.measurement", false,
          "no expected measurement: any VM image would pass. Give the deployment manifest (--release-key for a live server, "
          "--manifest with --manifest-key) or --measurement HEX, or accept any image by name with --insecure-any-measurement");
}

Json default_policy() {
  return Json{{"allow_debug", false}, {"allow_migration_agent", false}, {"allow_vlek", false}, {"allow_smt", true},
              {"require_single_socket", false}};
}

CheckList evaluate_snp_policy(const Json& p, const verify::Verified<snp::Report>& report, snp::Product product, bool is_vlek,
                              const Expectations& ex) {
  const snp::Report& r = *report;
  CheckList out;
  check_guest_policy(out, p, r, is_vlek);
  check_tcb(out, p, r, product);
  check_versions(out, p, r);
  check_bits(out, p, "platform_info_required", "policy.platform_info_required", r.platform_info, "PLATFORM_INFO", true);
  check_bits(out, p, "platform_info_forbidden", "policy.platform_info_forbidden", r.platform_info, "PLATFORM_INFO", false);
  check_bits(out, p, "required_mitigations", "policy.mitigations", r.current_mit_vector, "CURRENT_MIT_VECTOR", true);
  check_digest_field(out, p, "host_data", "policy.host_data", r.host_data, "HOST_DATA");
  check_digest_field(out, p, "id_key_digest", "policy.id_key_digest", r.id_key_digest, "ID_KEY_DIGEST");
  check_digest_field(out, p, "author_key_digest", "policy.author_key_digest", r.author_key_digest, "AUTHOR_KEY_DIGEST");
  check_expectations(out, r, ex);
  return out;
}

}  // namespace cci::policy
