#include "policy/snp_policy.h"

#include <algorithm>
#include <cstdio>

#include "base/hex.h"
#include "policy/policy_util.h"

namespace cci::policy {
namespace {

using verify::CheckList;
using detail::check_permission;
using detail::version_at_least;

bool bit(std::uint64_t v, unsigned b) { return ((v >> b) & 1) != 0; }

std::string u(std::uint64_t v) { return std::to_string(v); }

void check_guest_policy(CheckList& out, const Json& p, const snp::Report& r, bool is_vlek) {
  check_permission(out, p, "allow_debug", "policy.debug", r.debug_allowed(), "guest debugging (POLICY bit 19)");
  check_permission(out, p, "allow_migration_agent", "policy.migration_agent", bit(r.policy, 18),
                   "migration agent (POLICY bit 18)");
  check_permission(out, p, "allow_vlek", "policy.vlek", is_vlek, "VLEK signing (cloud-provider key, no chip binding)");
  if (!p.value("allow_smt", true)) {
    out.compare("policy.smt", !bit(r.policy, 16), "guest POLICY SMT (bit 16)", bit(r.policy, 16) ? "allowed" : "not allowed",
                "not allowed (allow_smt: false)");
  }
  if (p.value("require_single_socket", false)) {
    out.compare("policy.single_socket", bit(r.policy, 20), "guest POLICY SINGLE_SOCKET (bit 20)",
                bit(r.policy, 20) ? "required" : "not required", "required");
  }
  if (p.contains("max_vmpl") || p.contains("vmpl")) {
    bool ok = true;
    std::string want;
    if (p.contains("vmpl")) {
      const auto exact = p["vmpl"].get<std::uint32_t>();
      ok = r.vmpl == exact;
      want = u(exact);
    }
    if (p.contains("max_vmpl")) {
      const auto max = p["max_vmpl"].get<std::uint32_t>();
      ok = ok && r.vmpl <= max;
      want += (want.empty() ? "at most " : " and at most ") + u(max);
    }
    out.compare("policy.vmpl", ok, "VMPL", u(r.vmpl), want);
  }
  if (p.contains("min_guest_svn")) {
    const auto min = p["min_guest_svn"].get<std::uint32_t>();
    out.compare("policy.guest_svn", r.guest_svn >= min, "GUEST_SVN", u(r.guest_svn), "at least " + u(min));
  }
}

// The policy's TCB minimum for this product: min_tcb (components) and min_tcb_version (a raw
// TCB_VERSION, decoded with this product's layout), the larger of the two per component.
snp::Tcb minimum_tcb(const Json& p, snp::Product product) {
  snp::Tcb min;
  if (p.contains("min_tcb_version")) {
    const std::string text = p["min_tcb_version"].get<std::string>();
    min = snp::decode_tcb(std::stoull(text, nullptr, 16), product);
  }
  if (p.contains("min_tcb")) {
    const Json& m = p["min_tcb"];
    auto raise = [&](const char* name, std::uint8_t& field) {
      if (m.contains(name)) field = std::max<std::uint8_t>(field, m[name].get<std::uint8_t>());
    };
    raise("bootloader", min.bootloader);
    raise("tee", min.tee);
    raise("snp", min.snp);
    raise("microcode", min.microcode);
    if (m.contains("fmc")) min.fmc = std::max<std::uint8_t>(min.fmc.value_or(0), m["fmc"].get<std::uint8_t>());
  }
  return min;
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
  if (!p.contains("min_tcb") && !p.contains("min_tcb_version")) {
    out.skip("policy.min_tcb", "no minimum TCB in the policy");
    return;
  }
  const snp::Tcb min = minimum_tcb(p, product);
  std::string low;
  auto need = [&](const char* name, std::optional<std::uint8_t> have, std::optional<std::uint8_t> want) {
    if (!want || *want == 0) return;
    if (!have || *have < *want) low += std::string(low.empty() ? "" : ", ") + name + " " + (have ? u(*have) : "absent") + " < " + u(*want);
  };
  need("bootloader", rep.bootloader, min.bootloader);
  need("tee", rep.tee, min.tee);
  need("snp", rep.snp, min.snp);
  need("microcode", rep.microcode, min.microcode);
  need("fmc", rep.fmc, min.fmc);
  out.compare("policy.min_tcb", low.empty(), "REPORTED_TCB", snp::tcb_text(rep) + (low.empty() ? "" : " (" + low + ")"),
              "at least " + snp::tcb_text(min));
}

void check_versions(CheckList& out, const Json& p, const snp::Report& r) {
  if (p.contains("min_firmware")) {
    const std::string want = p["min_firmware"];
    const std::string have = u(r.current_major) + "." + u(r.current_minor);
    out.compare("policy.min_firmware", version_at_least(r.current_major, r.current_minor, want), "firmware (CURRENT_MAJOR.MINOR)", have,
                "at least " + want);
  }
  if (p.contains("min_build")) {
    const auto want = p["min_build"].get<unsigned>();
    out.compare("policy.min_build", r.current_build >= want && r.committed_build >= want, "firmware build (CURRENT_BUILD, COMMITTED_BUILD)",
                u(r.current_build) + ", " + u(r.committed_build), "at least " + u(want));
  }
  if (p.contains("min_abi")) {
    const std::string want = p["min_abi"];
    const unsigned major = (r.policy >> 8) & 0xff, minor = r.policy & 0xff;
    out.compare("policy.min_abi", version_at_least(major, minor, want), "ABI the guest policy requires", u(major) + "." + u(minor),
                "at least " + want);
  }
}

void check_bits(CheckList& out, const Json& p, const char* key, const char* id, std::optional<std::uint64_t> value,
                const char* field, bool want_set) {
  if (!p.contains(key)) return;
  std::string listed;
  std::uint64_t mask = 0;
  for (const auto& b : p[key]) {
    const auto n = b.get<unsigned>();
    mask |= std::uint64_t{1} << n;
    listed += (listed.empty() ? "" : ", ") + u(n);
  }
  const std::string want = std::string(want_set ? "bits " : "bits clear: ") + listed + (want_set ? " set" : "");
  if (!value) {
    out.compare(id, false, field, "absent (not in this report version)", want);
    return;
  }
  std::string bad;
  for (unsigned n = 0; n < 64; ++n) {
    if (((mask >> n) & 1) != 0 && bit(*value, n) != want_set) bad += (bad.empty() ? "" : ", ") + u(n);
  }
  out.compare(id, bad.empty(), field, "0x" + to_hex_u64(*value) + (bad.empty() ? "" : (want_set ? " (clear: " : " (set: ") + bad + ")"), want);
}

void check_platform_info(CheckList& out, const Json& p, const snp::Report& r) {
  if (!p.contains("platform_info")) return;
  const std::string want = p["platform_info"].get<std::string>();
  const std::uint64_t v = std::stoull(want, nullptr, 16);
  out.compare("policy.platform_info", r.platform_info == v, "PLATFORM_INFO", "0x" + to_hex_u64(r.platform_info), "0x" + to_hex_u64(v));
}

void check_digest_field(CheckList& out, const Json& p, const char* key, const char* id, ByteView have, const char* field) {
  if (!p.contains(key)) return;
  const std::string want = p[key].get<std::string>();
  auto w = from_hex(want, key);
  out.compare(id, w && detail::same_bytes(*w, have), field, to_hex(have), w ? to_hex(*w) : want);
}

void check_expectations(CheckList& out, const snp::Report& r, const Expectations& ex) {
  if (ex.measurements.empty()) {
    add_unpinned_measurement(out, ex.insecure_any_measurement);
  } else {
    detail::check_measurement(out, ex.measurements, r.measurement, "MEASUREMENT");
  }
  if (!ex.report_data) {
    out.skip("policy.report_data", "no expected REPORT_DATA (give --report-data or --nonce): freshness not checked");
  } else {
    out.compare("policy.report_data", detail::same_bytes(*ex.report_data, r.report_data), "REPORT_DATA", to_hex(r.report_data),
                to_hex(*ex.report_data));
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
  check_platform_info(out, p, r);
  check_digest_field(out, p, "host_data", "policy.host_data", r.host_data, "HOST_DATA");
  check_digest_field(out, p, "family_id", "policy.family_id", r.family_id, "FAMILY_ID");
  check_digest_field(out, p, "image_id", "policy.image_id", r.image_id, "IMAGE_ID");
  check_digest_field(out, p, "chip_id", "policy.chip_id", r.chip_id, "CHIP_ID");
  check_digest_field(out, p, "id_key_digest", "policy.id_key_digest", r.id_key_digest, "ID_KEY_DIGEST");
  check_digest_field(out, p, "author_key_digest", "policy.author_key_digest", r.author_key_digest, "AUTHOR_KEY_DIGEST");
  check_expectations(out, r, ex);
  detail::check_tdx_only_keys(out, p, ex.named_fields, "an SEV-SNP report");
  detail::check_gpu_only_keys(out, p, ex.named_fields, "an SEV-SNP report");
  return out;
}

}  // namespace cci::policy
