// See azure_hcl.h.
#include "tdx/azure_hcl.h"

#include "base/byte_reader.h"

namespace cci::tdx {

Result<AzureHcl> parse_azure_hcl(ByteView data) {
  if (data.size() > (1u << 20)) return make_error(ErrorCode::kMalformed, "Azure HCL report: larger than 1 MiB", "hcl_report");
  ByteReader r(data, "Azure HCL report");
  CCI_ASSIGN(magic, r.bytes(0, 4, "magic"));
  if (!(magic[0] == 'H' && magic[1] == 'C' && magic[2] == 'L' && magic[3] == 'A')) {
    return make_error(ErrorCode::kMalformed, "Azure HCL report: no HCLA magic", "magic");
  }
  CCI_ASSIGN(data_size, r.le32(0x4C0, "runtime data size"));
  CCI_ASSIGN(report_type, r.le32(0x4C8, "report_type"));
  CCI_ASSIGN(hash_type, r.le32(0x4CC, "hash_type"));
  CCI_ASSIGN(var_size, r.le32(0x4D0, "variable_data_size"));
  if (report_type != kHclReportTypeTdx) {
    return make_error(ErrorCode::kUnsupported,
                      "Azure HCL report: report type " + std::to_string(report_type) +
                          (report_type == kHclReportTypeSnp ? " is SEV-SNP (give it to cci-verify report as the evidence)" : " is not TDX (4)"),
                      "report_type");
  }
  if (hash_type != 1) return make_error(ErrorCode::kUnsupported, "Azure HCL report: hash type " + std::to_string(hash_type) + " is not 1 (SHA-256)", "hash_type");
  if (static_cast<std::uint64_t>(var_size) + 20 != data_size) {
    return make_error(ErrorCode::kMalformed,
                      "Azure HCL report: runtime data size " + std::to_string(data_size) + " is not the 20-byte header plus " + std::to_string(var_size) +
                          " bytes of variable data",
                      "variable_data_size");
  }
  CCI_ASSIGN(var, r.bytes(0x4D4, var_size, "variable_data"));
  AzureHcl h;
  h.report_type = report_type;
  h.hash_type = hash_type;
  h.variable_data.assign(var.begin(), var.end());
  return h;
}

}  // namespace cci::tdx
