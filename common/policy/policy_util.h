// Helpers shared by the SNP and CSV policy evaluators (internal to cci_policy).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "verify/check.h"

namespace cci::policy::detail {

using Json = nlohmann::ordered_json;

// A permission the policy must grant by name when the guest uses it ("allow_debug": true).
void check_permission(verify::CheckList& out, const Json& p, const char* key, const char* id, bool used, const std::string& what);

// major.minor >= want ("1.55"); false when `want` is not of that form.
bool version_at_least(unsigned major, unsigned minor, const std::string& want);

// policy.measurement against the expected values (none: the caller's unpinned finding instead):
// a passing line names how many were expected, a failing one lists them all. `field` names the
// report's field ("MEASUREMENT", "measure").
void check_measurement(verify::CheckList& out, const std::vector<Bytes>& expected, ByteView actual, const char* field);

// Policy keys that only another kind of evidence uses (`theirs`: tdx_only_key, gpu_only_key;
// `whose`: "Intel TDX quotes"), on this report: listed as not applicable, or failed when the user
// named the field for this very report (a check asked for is never skipped). `report` names the
// report in messages ("an SEV-SNP report").
void check_keys_of(verify::CheckList& out, const Json& p, const std::vector<std::string>& named, const std::string& report,
                   bool (*theirs)(const std::string&), const std::string& whose);
// Both of the above for a CPU TEE's report: the TDX-only keys (unless `report` is TDX) and the GPU keys.
void check_tdx_only_keys(verify::CheckList& out, const Json& p, const std::vector<std::string>& named, const std::string& report);
void check_gpu_only_keys(verify::CheckList& out, const Json& p, const std::vector<std::string>& named, const std::string& report);

// Equality without early exit (expected values may be secrets such as session bindings).
bool same_bytes(ByteView a, ByteView b);

}  // namespace cci::policy::detail
