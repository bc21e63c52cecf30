#include "snp/cert_table.h"

#include <algorithm>

#include "base/byte_reader.h"

namespace cci::snp {
namespace {

constexpr size_t kEntrySize = 24;

const char* kind_of(const Guid& g) {
  if (g == kCertGuidVcek) return "vcek";
  if (g == kCertGuidVlek) return "vlek";
  if (g == kCertGuidAsk) return "ask";
  if (g == kCertGuidArk) return "ark";
  return "unknown";
}

}  // namespace

Result<std::vector<CertTableEntry>> parse_cert_table(ByteView table) {
  std::vector<CertTableEntry> out;
  if (table.empty()) return out;
  ByteReader r(table, "certificate table");
  for (size_t i = 0;; ++i) {
    if (i > kMaxCertTableEntries) {
      return make_error(ErrorCode::kMalformed, "certificate table: more than " + std::to_string(kMaxCertTableEntries) + " entries",
                        "cert table");
    }
    const size_t at = i * kEntrySize;
    auto guid = r.bytes(at, 16, "cert table entry GUID");
    auto offset = r.le32(at + 16, "cert table entry offset");
    auto length = r.le32(at + 20, "cert table entry length");
    if (!guid || !offset || !length) {
      return make_error(ErrorCode::kMalformed, "certificate table: no all-zero terminating entry", "cert table");
    }
    const bool zero_guid = std::all_of(guid->begin(), guid->end(), [](std::uint8_t b) { return b == 0; });
    if (zero_guid && *offset == 0 && *length == 0) break;
    CertTableEntry e;
    std::copy(guid->begin(), guid->end(), e.guid.begin());
    e.kind = kind_of(e.guid);
    auto data = r.bytes(*offset, *length, "cert table entry data");
    if (!data) {
      return make_error(ErrorCode::kMalformed,
                        "certificate table entry " + std::to_string(i) + " (" + e.kind + ", " + guid_text(*guid) +
                            ") points outside the table: offset " + std::to_string(*offset) + " length " + std::to_string(*length),
                        "cert table entry");
    }
    e.data.assign(data->begin(), data->end());
    if (e.kind != "unknown" &&
        std::any_of(out.begin(), out.end(), [&e](const CertTableEntry& o) { return o.kind == e.kind; })) {
      return make_error(ErrorCode::kMalformed, "certificate table lists the " + e.kind + " certificate twice", "cert table entry");
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace cci::snp
