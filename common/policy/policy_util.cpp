#include "policy/policy_util.h"

#include <algorithm>

#include "policy/policy_keys.h"

#include <cstdio>

#include "base/hex.h"

namespace cci::policy::detail {

void check_keys_of(verify::CheckList& out, const Json& p, const std::vector<std::string>& named, const std::string& report,
                   bool (*theirs)(const std::string&), const std::string& whose) {
  for (const auto& [key, value] : p.items()) {
    if (!theirs(key)) continue;
    if (std::find(named.begin(), named.end(), key) != named.end()) {
      out.add("policy." + key, false, key + " was given on the command line, but it applies to " + whose + " only, not to " + report);
    } else {
      out.skip("policy." + key, key + " applies to " + whose + ": not to " + report);
    }
  }
}

void check_tdx_only_keys(verify::CheckList& out, const Json& p, const std::vector<std::string>& named, const std::string& report) {
  check_keys_of(out, p, named, report, tdx_only_key, "Intel TDX quotes");
}

void check_gpu_only_keys(verify::CheckList& out, const Json& p, const std::vector<std::string>& named, const std::string& report) {
  check_keys_of(out, p, named, report, gpu_only_key, "NVIDIA GPU evidence");
}

void check_permission(verify::CheckList& out, const Json& p, const char* key, const char* id, bool used, const std::string& what) {
  const bool allowed = p.value(key, false);
  if (!used) {
    out.add(id, true, what + ": not in use");
  } else if (allowed) {
    out.add(id, true, what + ": in use, allowed by " + key);
  } else {
    out.add(id, false, what + ": in use, and the policy forbids it (" + key + ": false)");
  }
}

bool version_at_least(unsigned major, unsigned minor, const std::string& want) {
  unsigned wmaj = 0, wmin = 0;
  if (std::sscanf(want.c_str(), "%u.%u", &wmaj, &wmin) != 2) return false;
  return major > wmaj || (major == wmaj && minor >= wmin);
}

void check_measurement(verify::CheckList& out, const std::vector<Bytes>& expected, ByteView actual, const char* field) {
  bool found = false;
  std::string listed;
  for (const auto& m : expected) {
    found = same_bytes(m, actual) || found;
    listed += (listed.empty() ? "" : " or ") + to_hex(m);
  }
  const size_t n = expected.size();
  const std::string want = n == 1 ? listed : found ? "one of " + std::to_string(n) + " values" : "one of " + std::to_string(n) + ": " + listed;
  out.compare("policy.measurement", found, field, to_hex(actual), want);
}

bool same_bytes(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  unsigned diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace cci::policy::detail
