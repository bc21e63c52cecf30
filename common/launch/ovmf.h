// OVMF firmware as the SEV launch flow sees it (edk2 OvmfPkg/ResetVector footer GUID table and SEV metadata;
// OvmfPkg/ResetVector/Ia16/ResetVectorVtf0.asm and X64/OvmfSevMetadata.asm):
//   * the footer GUID table that ends 32 bytes before the end of the image, walked
//     backwards from its footer entry (le16 total length + GUID 96b582de-…);
//   * the SEV metadata ("ASEV" block, version 1) it points to: the sections the
//     hypervisor pre-validates, in table order.
// parse_ovmf() never trusts a length: every entry and section is range-checked and an
// error names the field and its byte range.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "base/guid.h"

namespace cci::launch {

inline constexpr std::uint64_t kPageSize = 4096;
inline constexpr std::uint64_t kFourGiB = 0x100000000ULL;
inline constexpr size_t kMaxFirmwareBytes = 64u << 20;  // OVMF images are 2–4 MiB

inline constexpr Guid kFooterTableGuid = guid_le("96b582de-1fb2-45f7-baea-a366c55a082d");
inline constexpr Guid kSevEsResetBlockGuid = guid_le("00f771de-1a7e-4fcb-890e-68c77e2fb44e");
inline constexpr Guid kSevHashTableGuid = guid_le("7255371f-3a3b-4b04-927b-1da6efa8d454");
inline constexpr Guid kSevMetadataGuid = guid_le("dc886566-984a-4798-a75e-5585a7bf67cc");

// SEV metadata section types (OvmfSevMetadata.asm; sev-snp-measure SectionType).
enum class SectionType : std::uint32_t {
  kSnpSecMem = 1,
  kSnpSecrets = 2,
  kCpuid = 3,
  kSvsmCaa = 4,
  kSnpKernelHashes = 0x10,
};
const char* section_type_name(std::uint32_t type);

struct MetadataSection {
  std::uint64_t gpa = 0;
  std::uint64_t size = 0;
  std::uint32_t type = 0;  // SectionType value; unknown values are kept and rejected by the digest
};

struct Ovmf {
  Bytes data;                                   // the whole image, as passed to -bios
  bool has_footer_table = false;
  std::map<Guid, Bytes> table;                  // footer table entries: GUID → data
  std::vector<MetadataSection> sections;        // ASEV sections in table order

  std::uint64_t gpa() const { return kFourGiB - data.size(); }  // the image ends at 4 GiB
  std::optional<std::uint32_t> sev_es_reset_eip() const;      // AP reset vector (SEV-ES reset block)
  std::optional<std::uint32_t> hashes_table_gpa() const;      // 0 or absent: no measured direct boot
  bool has_section(SectionType t) const;
};

// Parses `data` (taking ownership). Fails when the image is empty or too large, when the
// footer table or the metadata block is inconsistent (bad lengths, entries past the table,
// wrong signature or version, sections not page-aligned, empty, overlapping or beyond
// 4 GiB). An image with no footer GUID at all parses with has_footer_table = false.
Result<Ovmf> parse_ovmf(Bytes data);

}  // namespace cci::launch
