#include "snp/report.h"

#include <algorithm>
#include <cctype>

#include "base/byte_reader.h"
#include "base/hex.h"
#include "base/text.h"

namespace cci::snp {
namespace {

Error malformed(const std::string& msg, const std::string& field) {
  return make_error(ErrorCode::kMalformed, "SNP report: " + msg, field);
}

// Reads fixed-size byte fields; the caller has checked the total size, so these cannot fail,
// but they still go through the reader's bounds check.
Bytes field(const ByteReader& r, size_t off, size_t len, const char* name) {
  auto b = r.bytes(off, len, name);
  return b ? Bytes(b->begin(), b->end()) : Bytes{};
}

// Reserved ranges that must be zero, by report version (ABI #56860; go-sev-guest abi.go).
struct Reserved {
  size_t off, len;
  const char* name;
};

Status check_reserved(const ByteReader& r, std::uint32_t version) {
  std::vector<Reserved> ranges = {
      {0x04C, 4, "reserved (0x04C)"},          {0x1EB, 1, "reserved (0x1EB)"},
      {0x1EF, 1, "reserved (0x1EF)"},          {0x2D0, 24, "signature R upper bytes"},
      {0x318, 24, "signature S upper bytes"},  {0x330, kReportSize - 0x330, "signature reserved (0x330)"},
  };
  if (version >= 3) {
    ranges.push_back({0x18B, 0x1A0 - 0x18B, "reserved (0x18B)"});
  } else {
    ranges.push_back({0x188, 0x1A0 - 0x188, "reserved (0x188, no CPUID in v2)"});
  }
  if (version >= 5) {
    ranges.push_back({0x208, kSignedSize - 0x208, "reserved (0x208)"});
  } else {
    ranges.push_back({0x1F8, kSignedSize - 0x1F8, "reserved (0x1F8, no mitigation vectors before v5)"});
  }
  for (const auto& rr : ranges) CCI_TRY(r.require_zero(rr.off, rr.len, rr.name));
  return {};
}

}  // namespace

const char* product_name(Product p) {
  switch (p) {
    case Product::kMilan: return "Milan";
    case Product::kGenoa: return "Genoa";
    case Product::kTurin: return "Turin";
  }
  return "?";
}

std::optional<Product> product_from_name(std::string_view name) {
  const std::string lower = ascii_lower(name);
  for (auto p : {Product::kMilan, Product::kGenoa, Product::kTurin}) {
    const std::string n = ascii_lower(product_name(p));
    // KDS names carry a stepping suffix on Milan ("Milan-B0"); nothing else may follow.
    if (lower == n || (lower.size() > n.size() + 1 && lower.compare(0, n.size() + 1, n + "-") == 0)) return p;
  }
  return std::nullopt;
}

std::optional<Product> product_from_cpuid(std::uint8_t family, std::uint8_t model) {
  if (family == 0x19 && model <= 0x0F) return Product::kMilan;
  if (family == 0x19 && ((model >= 0x10 && model <= 0x1F) || (model >= 0xA0 && model <= 0xAF))) return Product::kGenoa;
  if (family == 0x1A && model <= 0x11) return Product::kTurin;
  return std::nullopt;
}

Tcb decode_tcb(std::uint64_t raw, Product p) {
  auto byte = [raw](int i) { return static_cast<std::uint8_t>(raw >> (8 * i)); };
  Tcb t;
  t.raw = raw;
  if (p == Product::kTurin) {
    t.fmc = byte(0);
    t.bootloader = byte(1);
    t.tee = byte(2);
    t.snp = byte(3);
  } else {
    t.bootloader = byte(0);
    t.tee = byte(1);
    t.snp = byte(6);
  }
  t.microcode = byte(7);
  return t;
}

std::uint64_t encode_tcb(const Tcb& t, Product p) {
  auto at = [](std::uint8_t v, int i) { return static_cast<std::uint64_t>(v) << (8 * i); };
  if (p == Product::kTurin) return at(t.fmc.value_or(0), 0) | at(t.bootloader, 1) | at(t.tee, 2) | at(t.snp, 3) | at(t.microcode, 7);
  return at(t.bootloader, 0) | at(t.tee, 1) | at(t.snp, 6) | at(t.microcode, 7);
}

std::string tcb_text(const Tcb& t) {
  std::string s = t.fmc ? "fmc=" + std::to_string(*t.fmc) + " " : "";
  return s + "bl=" + std::to_string(t.bootloader) + " tee=" + std::to_string(t.tee) + " snp=" + std::to_string(t.snp) +
         " ucode=" + std::to_string(t.microcode);
}

bool Report::chip_id_masked() const {
  return std::all_of(chip_id.begin(), chip_id.end(), [](std::uint8_t b) { return b == 0; });
}

Result<Report> parse_report(ByteView bytes, const ParseOptions& opts) {
  if (bytes.size() != kReportSize) {
    return malformed("must be exactly " + std::to_string(kReportSize) + " bytes, got " + std::to_string(bytes.size()) +
                         (bytes.size() < kReportSize ? " (truncated)" : " (oversized)"),
                     "report");
  }
  ByteReader r(bytes, "SNP report");
  Report rep;
  rep.raw.assign(bytes.begin(), bytes.end());
  rep.version = *r.le32(0x000, "VERSION");
  if (rep.version < 2 || rep.version > opts.max_version) {
    return malformed("VERSION " + std::to_string(rep.version) + " is not supported (2.." + std::to_string(opts.max_version) + ")",
                     "VERSION");
  }
  rep.guest_svn = *r.le32(0x004, "GUEST_SVN");
  rep.policy = *r.le64(0x008, "POLICY");
  rep.family_id = field(r, 0x010, 16, "FAMILY_ID");
  rep.image_id = field(r, 0x020, 16, "IMAGE_ID");
  rep.vmpl = *r.le32(0x030, "VMPL");
  rep.signature_algo = *r.le32(0x034, "SIGNATURE_ALGO");
  rep.current_tcb = *r.le64(0x038, "CURRENT_TCB");
  rep.platform_info = *r.le64(0x040, "PLATFORM_INFO");
  rep.signer_info = *r.le32(0x048, "SIGNER_INFO");
  rep.report_data = field(r, 0x050, 64, "REPORT_DATA");
  rep.measurement = field(r, 0x090, 48, "MEASUREMENT");
  rep.host_data = field(r, 0x0C0, 32, "HOST_DATA");
  rep.id_key_digest = field(r, 0x0E0, 48, "ID_KEY_DIGEST");
  rep.author_key_digest = field(r, 0x110, 48, "AUTHOR_KEY_DIGEST");
  rep.report_id = field(r, 0x140, 32, "REPORT_ID");
  rep.report_id_ma = field(r, 0x160, 32, "REPORT_ID_MA");
  rep.reported_tcb = *r.le64(0x180, "REPORTED_TCB");
  if (rep.version >= 3) {
    rep.cpuid_family = *r.u8(0x188, "CPUID_FAM_ID");
    rep.cpuid_model = *r.u8(0x189, "CPUID_MOD_ID");
    rep.cpuid_stepping = *r.u8(0x18A, "CPUID_STEP");
  }
  rep.chip_id = field(r, 0x1A0, 64, "CHIP_ID");
  rep.committed_tcb = *r.le64(0x1E0, "COMMITTED_TCB");
  rep.current_build = *r.u8(0x1E8, "CURRENT_BUILD");
  rep.current_minor = *r.u8(0x1E9, "CURRENT_MINOR");
  rep.current_major = *r.u8(0x1EA, "CURRENT_MAJOR");
  rep.committed_build = *r.u8(0x1EC, "COMMITTED_BUILD");
  rep.committed_minor = *r.u8(0x1ED, "COMMITTED_MINOR");
  rep.committed_major = *r.u8(0x1EE, "COMMITTED_MAJOR");
  rep.launch_tcb = *r.le64(0x1F0, "LAUNCH_TCB");
  if (rep.version >= 5) {
    rep.launch_mit_vector = *r.le64(0x1F8, "LAUNCH_MIT_VECTOR");
    rep.current_mit_vector = *r.le64(0x200, "CURRENT_MIT_VECTOR");
  }
  rep.sig_r = field(r, 0x2A0, kSigComponentSize, "SIGNATURE.R");
  rep.sig_s = field(r, 0x2E8, kSigComponentSize, "SIGNATURE.S");

  if (rep.signature_algo != 1) {
    return malformed("SIGNATURE_ALGO " + std::to_string(rep.signature_algo) + " is not 1 (ECDSA P-384 with SHA-384)",
                     "SIGNATURE_ALGO");
  }
  if (((rep.policy >> 17) & 1) == 0) return malformed("POLICY bit 17 (reserved, must be one) is clear", "POLICY");
  if ((rep.policy >> 26) != 0) return malformed("POLICY bits 63:26 (reserved) are not zero", "POLICY");
  if ((rep.signer_info >> 5) != 0) return malformed("SIGNER_INFO bits 31:5 (reserved) are not zero", "SIGNER_INFO");
  const auto sk = static_cast<std::uint8_t>((rep.signer_info >> 2) & 0x7);
  if (sk != 0 && sk != 1 && sk != 7) {
    return malformed("SIGNER_INFO.SIGNING_KEY " + std::to_string(sk) + " is reserved (0 VCEK, 1 VLEK, 7 none)",
                     "SIGNER_INFO");
  }
  CCI_TRY(check_reserved(r, rep.version));
  return rep;
}

const char* input_format_name(InputFormat f) {
  switch (f) {
    case InputFormat::kRaw: return "raw";
    case InputFormat::kHex: return "hex";
    case InputFormat::kAzureHcl: return "azure-hcl";
  }
  return "?";
}

Result<ReportInput> extract_report(ByteView input) {
  ReportInput out;
  // Azure HCL report (vTPM NV index): "HCLA" header, SNP report at 0x20, runtime data
  // header at 0x4C0 (data_size, version, report_type, hash_type, variable_data_size) and the
  // runtime-claims JSON at 0x4D4 (Azure confidential VM HCL report, as azure/confidential-computing-cvm-guest-attestation documents it).
  if (input.size() >= 4 && as_chars(input.first(4)) == "HCLA") {
    ByteReader r(input, "Azure HCL report");
    auto rep = r.bytes(0x20, kReportSize, "HCL attestation report");
    if (!rep) return rep.error();
    auto hash_type = r.le32(0x4CC, "HCL runtime data hash_type");
    auto claims_size = r.le32(0x4D0, "HCL runtime data variable_data_size");
    if (!hash_type) return hash_type.error();
    if (!claims_size) return claims_size.error();
    auto claims = r.bytes(0x4D4, *claims_size, "HCL runtime claims");
    if (!claims) return claims.error();
    out.format = InputFormat::kAzureHcl;
    out.report.assign(rep->begin(), rep->end());
    out.azure_runtime_claims.assign(claims->begin(), claims->end());
    if (*hash_type != 1) {
      return make_error(ErrorCode::kUnsupported,
                        "Azure HCL runtime data hash_type " + std::to_string(*hash_type) + " is not 1 (SHA-256)",
                        "HCL hash_type");
    }
    return out;
  }
  if (input.size() == kReportSize) {
    out.report.assign(input.begin(), input.end());
    return out;
  }
  // ASCII hex, whitespace ignored.
  std::string hex;
  for (std::uint8_t c : input) {
    if (std::isspace(c)) continue;
    if (!std::isxdigit(c)) {
      return make_error(ErrorCode::kMalformed,
                        "input is neither a " + std::to_string(kReportSize) + "-byte report (got " + std::to_string(input.size()) +
                            " bytes), its hex form, nor an Azure HCL report",
                        "report");
    }
    hex.push_back(static_cast<char>(c));
  }
  auto bytes = from_hex(hex, "hex report", kReportSize);
  if (!bytes) {
    return make_error(ErrorCode::kMalformed,
                      "hex input decodes to " + std::to_string(hex.size() / 2) + " bytes, not " + std::to_string(kReportSize),
                      "report");
  }
  out.format = InputFormat::kHex;
  out.report = std::move(*bytes);
  return out;
}

}  // namespace cci::snp
