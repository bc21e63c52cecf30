// AMD SEV-SNP ATTESTATION_REPORT (AMD SEV-SNP Firmware ABI Specification, pub. 56860, table
// "ATTESTATION_REPORT Structure"). parse_report() decodes every field by offset through the
// bounds-checked reader and checks the structure (size, version, signature algorithm,
// reserved ranges); it proves nothing about authenticity: the result is unverified data
// until common/verify has checked the signature and the chain.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "base/bytes.h"
#include "base/result.h"

namespace cci::snp {

inline constexpr size_t kReportSize = 0x4A0;    // 1184
inline constexpr size_t kSignedSize = 0x2A0;    // bytes [0, 0x2A0) are signed
inline constexpr size_t kSigComponentSize = 72; // R and S, little-endian, low 48 bytes used

enum class Product { kMilan, kGenoa, kTurin };
const char* product_name(Product p);  // KDS spelling: "Milan", "Genoa", "Turin"
std::optional<Product> product_from_name(std::string_view name);  // case-insensitive; "Milan-B0" → Milan
// Product line from the signed CPUID bytes of a v3+ report (SEV-SNP ABI 56860 rev 1.55+, CPUID_FAM_ID / CPUID_MOD_ID / CPUID_STEP): family 0x19
// models 0x00–0x0F Milan, 0x10–0x1F and 0xA0–0xAF (Zen4c) Genoa; family 0x1A models 0x00–0x11 Turin.
std::optional<Product> product_from_cpuid(std::uint8_t family, std::uint8_t model);

// TCB_VERSION, decoded per product layout (SEV-SNP ABI 56860, "TCB_VERSION Structure"; Turin adds FMC). Compare per component.
struct Tcb {
  std::uint64_t raw = 0;
  std::optional<std::uint8_t> fmc;  // Turin only
  std::uint8_t bootloader = 0, tee = 0, snp = 0, microcode = 0;
};
Tcb decode_tcb(std::uint64_t raw, Product p);
std::uint64_t encode_tcb(const Tcb& t, Product p);  // the inverse (fmc used on Turin only)
std::string tcb_text(const Tcb& t);  // "bl=3 tee=0 snp=8 ucode=115" (+ "fmc=1 " on Turin)

enum class SigningKey : std::uint8_t { kVcek = 0, kVlek = 1, kNone = 7 };

struct Report {
  Bytes raw;  // exactly kReportSize bytes, as received
  std::uint32_t version = 0;
  std::uint32_t guest_svn = 0;
  std::uint64_t policy = 0;
  Bytes family_id, image_id;  // 16 each
  std::uint32_t vmpl = 0;
  std::uint32_t signature_algo = 0;
  std::uint64_t current_tcb = 0;
  std::uint64_t platform_info = 0;
  std::uint32_t signer_info = 0;
  Bytes report_data;      // 64
  Bytes measurement;      // 48
  Bytes host_data;        // 32
  Bytes id_key_digest;    // 48
  Bytes author_key_digest;// 48
  Bytes report_id;        // 32
  Bytes report_id_ma;     // 32
  std::uint64_t reported_tcb = 0;
  std::optional<std::uint8_t> cpuid_family, cpuid_model, cpuid_stepping;  // v3+
  Bytes chip_id;          // 64
  std::uint64_t committed_tcb = 0;
  std::uint8_t current_build = 0, current_minor = 0, current_major = 0;
  std::uint8_t committed_build = 0, committed_minor = 0, committed_major = 0;
  std::uint64_t launch_tcb = 0;
  std::optional<std::uint64_t> launch_mit_vector, current_mit_vector;  // v5
  Bytes sig_r, sig_s;     // 72 each, little-endian as stored

  ByteView signed_bytes() const { return ByteView(raw).first(kSignedSize); }
  SigningKey signing_key() const { return static_cast<SigningKey>((signer_info >> 2) & 0x7); }
  bool author_key_en() const { return signer_info & 1; }
  bool mask_chip_key() const { return (signer_info >> 1) & 1; }
  bool debug_allowed() const { return (policy >> 19) & 1; }
  bool chip_id_masked() const;  // all zero
};

struct ParseOptions {
  std::uint32_t max_version = 5;  // newer versions only when a policy allows them
};

// Parses exactly kReportSize bytes. Errors (kMalformed) name the field and byte range.
Result<Report> parse_report(ByteView bytes, const ParseOptions& opts = {});

// Where a report came from and how it was unwrapped.
enum class InputFormat { kRaw, kHex, kAzureHcl };
const char* input_format_name(InputFormat f);

struct ReportInput {
  InputFormat format = InputFormat::kRaw;
  Bytes report;                 // the 1184 bytes
  Bytes azure_runtime_claims;   // Azure HCL: the runtime-claims JSON bound by REPORT_DATA
};

// Detects the input format: 1184 raw bytes, ASCII hex of them (whitespace allowed), or an
// Azure HCL report ("HCLA" header, SNP report at 0x20, runtime claims after 0x4C0).
Result<ReportInput> extract_report(ByteView input);

}  // namespace cci::snp
