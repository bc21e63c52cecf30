// The Azure confidential VM HCL report for a TD (the vTPM NV index 0x01400001 as the Azure guest
// attestation library reads it): "HCLA" header, the TD's hardware report at 0x20, and the runtime
// data at 0x4C0 — data_size u32, version u32, report_type u32 (2 SEV-SNP, 4 TDX), hash_type u32
// (1 SHA-256), variable_data_size u32, then the variable data (JSON: the HCL's attestation and
// encryption keys, VM configuration) at 0x4D4. The TD's quote binds it: REPORT_DATA =
// SHA-256(variable data) || 32 zero bytes. Pure parsing, bounded by the declared sizes.
#pragma once

#include <cstdint>

#include "base/bytes.h"
#include "base/result.h"

namespace cci::tdx {

inline constexpr std::uint32_t kHclReportTypeSnp = 2, kHclReportTypeTdx = 4;

struct AzureHcl {
  std::uint32_t report_type = 0;
  std::uint32_t hash_type = 0;
  Bytes variable_data;
};

// kMalformed naming the field for a bad magic or sizes that do not fit; kUnsupported for a report
// type other than TDX or a hash type other than SHA-256.
Result<AzureHcl> parse_azure_hcl(ByteView data);

}  // namespace cci::tdx
