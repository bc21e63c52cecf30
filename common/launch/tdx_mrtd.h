// Intel TDX: the build-time measurement (MRTD) of a TD started from a TDVF image (OVMF built
// with TDX support), as the VMM adds and measures the firmware before TDH.MR.FINALIZE.
//
//   * TDVF metadata (Intel TDX Virtual Firmware Design Guide, section 11, "TDVF Metadata"):
//     the OVMF footer GUID table entry e47a6535-984a-4798-865e-4685a7bf8ec2 holds a le32
//     offset, from the end of the image, to the descriptor: "TDVF", le32 length, le32 version
//     (1), le32 section count, then 32-byte sections {le32 DataOffset, le32 RawDataSize,
//     le64 MemoryAddress, le64 MemoryDataSize, le32 Type, le32 Attributes}; Attributes bit 0
//     is MR.EXTEND, bit 1 PAGE.AUG.
//   * MRTD (Intel TDX Module ABI Reference, TDH.MEM.PAGE.ADD and TDH.MR.EXTEND): one SHA-384
//     over, per page added, a 128-byte buffer "MEM.PAGE.ADD" with the GPA (le64) at byte 16,
//     and per 256-byte chunk extended, a 128-byte buffer "MR.EXTEND" with the chunk's GPA at
//     byte 16 followed by the chunk itself.
//   * The order of those calls is the VMM's. This follows upstream QEMU + KVM
//     (KVM_TDX_INIT_MEM_REGION): the sections in metadata order, every section not marked
//     PAGE.AUG added page by page, each page of an MR.EXTEND section extended right after it
//     was added. A VMM that adds every page first and extends afterwards gives another MRTD.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/guid.h"
#include "base/result.h"
#include "launch/ovmf.h"

namespace cci::launch {

inline constexpr Guid kTdxMetadataGuid = guid_le("e47a6535-984a-4798-865e-4685a7bf8ec2");

inline constexpr std::uint32_t kTdvfAttrMrExtend = 1u << 0;
inline constexpr std::uint32_t kTdvfAttrPageAug = 1u << 1;

struct TdvfSection {
  std::uint32_t data_offset = 0, raw_size = 0;
  std::uint64_t gpa = 0, mem_size = 0;
  std::uint32_t type = 0, attributes = 0;
};
// "BFV", "CFV", "TD_HOB", "TempMem", "PermMem", "Payload", "PayloadParam", or "type N".
std::string tdvf_section_type_name(std::uint32_t type);

// The TDVF sections of `fw`, in metadata order. Fails, naming the field, when the table entry
// is absent (not a TDX firmware), the descriptor does not lie inside the image, its signature,
// version or length is wrong, or a section is empty, not 4 KiB-aligned, larger in the file
// than in memory, outside the image, of an unknown type or with unknown attributes; or when
// the memory the VMM would add exceeds 4 GiB in all (a bound on the work).
Result<std::vector<TdvfSection>> parse_tdvf_metadata(const Ovmf& fw);

struct MrtdResult {
  Bytes mrtd;                   // 48 bytes
  std::uint64_t pages_added = 0, chunks_extended = 0;
};
MrtdResult compute_mrtd(const Ovmf& fw, const std::vector<TdvfSection>& sections);

}  // namespace cci::launch
