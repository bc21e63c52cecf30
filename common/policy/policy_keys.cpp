#include "policy/policy_keys.h"

#include <algorithm>

#include "base/hex.h"
#include "base/text.h"

namespace cci::policy {
namespace {

using Json = nlohmann::ordered_json;

Error bad(const FieldFlag& f, const std::string& why) { return make_error(ErrorCode::kUsage, std::string(f.flag) + ": " + why, f.key); }


// "MAJOR.MINOR" with both parts 0..255 (the firmware and ABI version keys).
bool is_version(const std::string& t) {
  const size_t dot = t.find('.');
  return dot != std::string::npos && t.find_first_not_of("0123456789.") == std::string::npos &&
         parse_uint_text(std::string_view(t).substr(0, dot), 255) && parse_uint_text(std::string_view(t).substr(dot + 1), 255);
}

Status hex_field(Json& p, const FieldFlag& f, const std::string& text, size_t bytes) {
  auto b = hex_arg(text, f.flag, bytes);
  if (!b) return bad(f, "expected " + std::to_string(bytes * 2) + " hex digits (" + std::to_string(bytes) + " bytes)");
  p[f.key] = to_hex(*b);
  return {};
}

Status uint_field(Json& p, const FieldFlag& f, const std::string& text, std::uint64_t max) {
  auto v = parse_uint_text(text, max);
  if (!v) return bad(f, "expected a number from 0 to " + std::to_string(max) + " (decimal or 0x hex)");
  p[f.key] = *v;
  return {};
}

Status min_tcb(Json& p, const FieldFlag& f, const std::string& text) {
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    auto v = parse_uint_text(text, UINT64_MAX);
    if (!v) return bad(f, "expected a 64-bit TCB_VERSION in 0x hex, or bootloader=N,tee=N,snp=N,microcode=N[,fmc=N]");
    p.erase("min_tcb");
    p["min_tcb_version"] = to_hex_u64(*v);
    return {};
  }
  Json tcb = Json::object();
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t comma = std::min(text.find(',', pos), text.size());
    const std::string item = text.substr(pos, comma - pos);
    const size_t eq = item.find('=');
    const std::string name = item.substr(0, eq);
    if (eq == std::string::npos || (name != "bootloader" && name != "tee" && name != "snp" && name != "microcode" && name != "fmc")) {
      return bad(f, "'" + item + "': expected bootloader=N,tee=N,snp=N,microcode=N[,fmc=N] or a 0x TCB_VERSION");
    }
    auto v = parse_uint_text(std::string_view(item).substr(eq + 1), 255);
    if (!v) return bad(f, "'" + item + "': a component is a number from 0 to 255");
    if (tcb.contains(name)) return bad(f, "'" + name + "' given twice");
    tcb[name] = *v;
    pos = comma + 1;
  }
  p.erase("min_tcb_version");
  p["min_tcb"] = tcb;
  return {};
}

Status min_firmware(Json& p, const FieldFlag& f, const std::string& text) {
  if (!is_version(text)) return bad(f, "expected MAJOR.MINOR, e.g. 1.55");
  p[f.key] = text;
  return {};
}

}  // namespace

const std::vector<FieldFlag>& field_flags() {
  static const std::vector<FieldFlag> flags = {
      {"--host-data", "host_data", "HEX", "SNP: expected HOST_DATA (64 hex digits)"},
      {"--family-id", "family_id", "HEX", "SNP: expected FAMILY_ID of the ID block (32 hex digits)"},
      {"--image-id", "image_id", "HEX", "SNP: expected IMAGE_ID of the ID block (32 hex digits)"},
      {"--id-key-digest", "id_key_digest", "HEX", "SNP: expected ID_KEY_DIGEST (96 hex digits)"},
      {"--author-key-digest", "author_key_digest", "HEX", "SNP: expected AUTHOR_KEY_DIGEST (96 hex digits)"},
      {"--chip-id", "chip_id", "HEX", "SNP: expected CHIP_ID, pinning one machine (128 hex digits)"},
      {"--min-tcb", "min_tcb", "TCB", "SNP: minimum REPORTED_TCB: bootloader=N,tee=N,snp=N,microcode=N[,fmc=N] or a 0x TCB_VERSION"},
      {"--min-build", "min_build", "N", "SNP: minimum firmware build (CURRENT_BUILD and COMMITTED_BUILD)"},
      {"--min-firmware", "min_firmware", "MAJOR.MINOR", "Minimum firmware version (SNP CURRENT_MAJOR.MINOR; CSV API version)"},
      {"--min-guest-svn", "min_guest_svn", "N", "SNP: minimum GUEST_SVN"},
      {"--platform-info", "platform_info", "HEX", "SNP: expected PLATFORM_INFO, exactly (0x hex or decimal)"},
      {"--vmpl", "vmpl", "N", "SNP: expected VMPL, exactly (0..3)"},
      {"--accept-tcb-status", "tdx_accept_tcb_status", "LIST",
       "TDX: TCB statuses accepted besides UpToDate, comma-separated (SWHardeningNeeded, ConfigurationNeeded, "
       "ConfigurationAndSWHardeningNeeded, OutOfDate, OutOfDateConfigurationNeeded)"},
      {"--min-tcb-evaluation-number", "min_tcb_evaluation_number", "N", "TDX: minimum TCB evaluation data number of Intel's collateral"},
      {"--gpu-count", "gpu_count", "N", "NVIDIA GPU: the number of GPUs the evidence must hold, exactly"},
      {"--gpu-min-driver", "gpu_min_driver_version", "VERSION", "NVIDIA GPU: minimum driver version, e.g. 550.90.07"},
      {"--gpu-min-vbios", "gpu_min_vbios_version", "VERSION", "NVIDIA GPU: minimum VBIOS version, e.g. 96.00.9f.00.01"},
  };
  return flags;
}

Status set_policy_field(Json& p, const FieldFlag& f, const std::string& text) {
  const std::string key = f.key;
  if (key == "host_data") return hex_field(p, f, text, 32);
  if (key == "family_id" || key == "image_id") return hex_field(p, f, text, 16);
  if (key == "id_key_digest" || key == "author_key_digest") return hex_field(p, f, text, 48);
  if (key == "chip_id") return hex_field(p, f, text, 64);
  if (key == "min_tcb") return min_tcb(p, f, text);
  if (key == "min_build") return uint_field(p, f, text, 255);
  if (key == "min_firmware") return min_firmware(p, f, text);
  if (key == "min_guest_svn") return uint_field(p, f, text, UINT32_MAX);
  if (key == "vmpl") return uint_field(p, f, text, 3);
  if (key == "min_tcb_evaluation_number") return uint_field(p, f, text, UINT32_MAX);
  if (key == "gpu_count") {
    auto v = parse_uint_text(text, kMaxGpuCount);
    if (!v || *v == 0) return bad(f, "expected a number from 1 to " + std::to_string(kMaxGpuCount));
    p[f.key] = *v;
    return {};
  }
  if (key == "gpu_min_driver_version" || key == "gpu_min_vbios_version") {
    auto v = gpu_version_key(key, text);
    if (!v) return bad(f, key == "gpu_min_driver_version" ? "expected a driver version of dot-separated numbers, e.g. 550.90.07"
                                                           : "expected a VBIOS version of five dot-separated hex parts, e.g. 96.00.9f.00.01");
    p[f.key] = *v;
    return {};
  }
  if (key == "tdx_accept_tcb_status") {
    Json list = Json::array();
    size_t start = 0;
    while (start <= text.size()) {
      const size_t comma = text.find(',', start);
      const std::string s = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      const auto& ok = acceptable_tcb_statuses();
      if (std::find(ok.begin(), ok.end(), s) == ok.end()) return bad(f, "'" + s + "' is not a TCB status that may be accepted");
      list.push_back(s);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    p[f.key] = list;
    return {};
  }
  if (key == "platform_info") {
    auto v = parse_uint_text(text, UINT64_MAX);
    if (!v) return bad(f, "expected a 64-bit value (0x hex or decimal)");
    p[f.key] = to_hex_u64(*v);
    return {};
  }
  return bad(f, "unknown field");
}

Status check_policy_json(const Json& p) {
  auto fail = [](const std::string& key, const std::string& why) {
    return make_error(ErrorCode::kInvalidInput, "policy." + key + ": " + why, "policy." + key);
  };
  if (!p.is_object()) return make_error(ErrorCode::kInvalidInput, "policy: expected an object", "policy");
  auto hex_of = [](const Json& v, size_t bytes) { return v.is_string() && from_hex(v.get<std::string>(), "", bytes).has_value(); };
  auto u64_hex = [](const Json& v) {
    return v.is_string() && !v.get<std::string>().empty() && v.get<std::string>().size() <= 16 &&
           v.get<std::string>().find_first_not_of("0123456789abcdef") == std::string::npos;
  };
  auto uint_max = [](const Json& v, std::uint64_t max) { return v.is_number_unsigned() && v.get<std::uint64_t>() <= max; };
  for (const auto& [key, v] : p.items()) {
    bool ok = false;
    std::string want;
    if (key == "allow_debug" || key == "allow_migration_agent" || key == "allow_vlek" || key == "allow_smt" || key == "require_single_socket") {
      ok = v.is_boolean(), want = "true or false";
    } else if (key == "max_vmpl" || key == "vmpl") {
      ok = uint_max(v, 3), want = "an integer 0..3";
    } else if (key == "min_guest_svn") {
      ok = uint_max(v, UINT32_MAX), want = "a 32-bit unsigned integer";
    } else if (key == "min_build") {
      ok = uint_max(v, 255), want = "an integer 0..255";
    } else if (key == "platform_info_required" || key == "platform_info_forbidden" || key == "required_mitigations") {
      ok = v.is_array();
      for (const auto& b : v) ok = ok && uint_max(b, 63);
      want = "a list of bit numbers 0..63";
    } else if (key == "min_tcb") {
      ok = v.is_object();
      for (const auto& [c, n] : v.items()) {
        ok = ok && (c == "bootloader" || c == "tee" || c == "snp" || c == "microcode" || c == "fmc") && uint_max(n, 255);
      }
      want = "{bootloader, tee, snp, microcode, fmc} of integers 0..255";
    } else if (key == "min_tcb_version" || key == "platform_info") {
      ok = u64_hex(v), want = "a 64-bit value as lowercase hex";
    } else if (key == "min_firmware" || key == "min_abi") {
      ok = v.is_string() && is_version(v.get<std::string>()), want = "\"MAJOR.MINOR\"";
    } else if (key == "host_data") {
      ok = hex_of(v, 32), want = "64 hex digits";
    } else if (key == "family_id" || key == "image_id") {
      ok = hex_of(v, 16), want = "32 hex digits";
    } else if (key == "id_key_digest" || key == "author_key_digest") {
      ok = hex_of(v, 48), want = "96 hex digits";
    } else if (key == "chip_id") {
      ok = hex_of(v, 64), want = "128 hex digits";
    } else if (key == "csv_generation") {
      ok = v == "csv" || v == "csv2" || v == "csv3", want = "csv, csv2 or csv3";
    } else if (key == "min_tcb_evaluation_number") {
      ok = uint_max(v, UINT32_MAX), want = "a 32-bit unsigned integer";
    } else if (key == "gpu_count") {
      ok = uint_max(v, kMaxGpuCount) && v.get<std::uint64_t>() > 0, want = "an integer 1.." + std::to_string(kMaxGpuCount);
    } else if (key == "gpu_min_driver_version" || key == "gpu_min_vbios_version") {
      ok = v.is_string() && gpu_version_key(key, v.get<std::string>()) == v.get<std::string>();
      want = key == "gpu_min_driver_version" ? "a driver version such as \"550.90.07\"" : "a VBIOS version such as \"96.00.9f.00.01\" (lowercase hex)";
    } else if (key == "gpu_allow_ppcie") {
      ok = v.is_boolean(), want = "true or false";
    } else if (key == "tdx_accept_tcb_status") {
      const auto& known = acceptable_tcb_statuses();
      ok = v.is_array();
      for (const auto& s : v) ok = ok && s.is_string() && std::find(known.begin(), known.end(), s.get<std::string>()) != known.end();
      want = "a list of TCB statuses other than UpToDate and Revoked";
    } else {
      return fail(key, "unknown policy key (this build knows the keys in manifests/README.md)");
    }
    if (!ok) return fail(key, "expected " + want);
  }
  return {};
}

bool gpu_only_key(const std::string& key) {
  return key == "gpu_count" || key == "gpu_min_driver_version" || key == "gpu_min_vbios_version" || key == "gpu_allow_ppcie";
}

std::optional<std::string> gpu_version_key(const std::string& key, std::string_view text) {
  if (key == "gpu_min_driver_version") {
    if (!parse_dotted_version(text, 10, 1, 4)) return std::nullopt;
    return std::string(text);
  }
  return fixed_dotted_hex(text, 5, 2);  // the VBIOS, written lowercase as the reports print it
}

bool tdx_only_key(const std::string& key) { return key == "tdx_accept_tcb_status" || key == "min_tcb_evaluation_number"; }

const std::vector<std::string>& acceptable_tcb_statuses() {
  static const std::vector<std::string> s = {"SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded", "OutOfDate",
                                             "OutOfDateConfigurationNeeded"};
  return s;
}

bool snp_only_key(const std::string& key) {
  static const char* const keys[] = {"host_data", "family_id", "image_id", "id_key_digest", "author_key_digest", "chip_id",
                                     "min_tcb", "min_tcb_version", "min_build", "min_guest_svn", "platform_info", "vmpl",
                                     "max_vmpl", "platform_info_required", "platform_info_forbidden", "required_mitigations"};
  for (const char* k : keys) {
    if (key == k) return true;
  }
  return false;
}

}  // namespace cci::policy
