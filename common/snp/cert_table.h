// The certificate table of an extended report (SNP_GET_EXT_REPORT / configfs-tsm auxblob;
// GHCB specification 56421 §4.1.8.1; Linux Documentation/virt/coco/sev-guest.rst): entries {GUID[16], le32 offset,
// le32 length} ended by an all-zero entry, offsets counted from the table start. Pure
// parsing: the certificates it carries are evidence from the host, never trust anchors.
#pragma once

#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/guid.h"
#include "base/result.h"

namespace cci::snp {

inline constexpr Guid kCertGuidVcek = guid_le("63da758d-e664-4564-adc5-f4b93be8accd");
inline constexpr Guid kCertGuidVlek = guid_le("a8074bc2-a25a-483e-aae6-39c045a0b8a1");
inline constexpr Guid kCertGuidAsk = guid_le("4ab7b379-bbac-4fe4-a02f-05aef327c782");
inline constexpr Guid kCertGuidArk = guid_le("c0b406a4-a803-4952-9743-3fb6014cd0ae");
inline constexpr size_t kMaxCertTableEntries = 64;

struct CertTableEntry {
  Guid guid{};
  std::string kind;  // "vcek", "vlek", "ask", "ark" or "unknown"
  Bytes data;        // the blob (DER certificate for the known kinds)
};

// Parses the table. Errors (kMalformed) for a missing terminator, an entry whose range lies
// outside the buffer, more than kMaxCertTableEntries entries, or a known kind listed twice.
// An empty buffer is an empty table (hosts that never installed certificates).
Result<std::vector<CertTableEntry>> parse_cert_table(ByteView table);

}  // namespace cci::snp
