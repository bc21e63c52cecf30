#include "launch/ovmf.h"

#include <algorithm>

#include "base/byte_reader.h"
#include "base/hex.h"

namespace cci::launch {
namespace {

constexpr size_t kEntryTrailer = 18;       // le16 length + GUID, after the entry data
constexpr size_t kFooterEndGap = 32;       // the table ends 32 bytes before the image end
constexpr size_t kMetadataHeader = 16;     // "ASEV", le32 length, le32 version, le32 count
constexpr size_t kMetadataItem = 12;       // le32 gpa, le32 size, le32 type

Error bad(const std::string& msg, const char* field) { return make_error(ErrorCode::kMalformed, msg, field); }

// Walks the table backwards from the footer entry (ResetVectorVtf0.asm layout):
// each entry is data ‖ le16 length ‖ GUID, the length counting the 18 trailer bytes.
Status parse_footer_table(Ovmf& fw) {
  ByteReader r(fw.data, "firmware image");
  if (fw.data.size() < kFooterEndGap + kEntryTrailer) return {};  // too small to hold a table
  const size_t footer_at = fw.data.size() - kFooterEndGap - kEntryTrailer;
  auto guid = r.bytes(footer_at + 2, 16, "footer table GUID");
  if (!guid) return guid.error();
  if (!guid_equal(*guid, kFooterTableGuid)) return {};
  fw.has_footer_table = true;
  auto total = r.le16(footer_at, "footer table length");
  if (!total) return total.error();
  if (*total < kEntryTrailer || *total - kEntryTrailer > footer_at) {
    return bad("footer table length " + std::to_string(*total) + " at " + ByteReader::hex_offset(footer_at) +
                   " is inconsistent with the image (must be >= 18 and fit below the footer)",
               "footer table length");
  }
  size_t end = footer_at;                          // exclusive end of the unread table part
  const size_t begin = footer_at - (*total - kEntryTrailer);
  while (end > begin) {
    if (end - begin < kEntryTrailer) {
      return bad("footer table has " + std::to_string(end - begin) + " stray bytes at " +
                     ByteReader::hex_offset(begin) + " (less than one entry header)",
                 "footer table length");
    }
    const size_t trailer = end - kEntryTrailer;
    auto len = r.le16(trailer, "footer table entry length");
    if (!len) return len.error();
    if (*len < kEntryTrailer || *len > end - begin) {
      return bad("footer table entry at " + ByteReader::hex_offset(trailer) + " has length " + std::to_string(*len) +
                     " (must be >= 18 and stay inside the table)",
                 "footer table entry length");
    }
    auto id = r.bytes(trailer + 2, 16, "footer table entry GUID");
    auto payload = r.bytes(end - *len, *len - kEntryTrailer, "footer table entry data");
    if (!id) return id.error();
    if (!payload) return payload.error();
    Guid g{};
    std::copy(id->begin(), id->end(), g.begin());
    if (!fw.table.emplace(g, Bytes(payload->begin(), payload->end())).second) {
      return bad("footer table lists GUID " + guid_text(*id) + " twice", "footer table entry GUID");
    }
    end -= *len;
  }
  return {};
}

Result<std::uint32_t> table_u32(const Ovmf& fw, const Guid& g, const char* field) {
  auto it = fw.table.find(g);
  if (it == fw.table.end()) return bad(std::string(field) + " is absent", field);
  ByteReader r(it->second, std::string("footer table entry ") + field);
  return r.le32(0, field);
}

Status check_section(const MetadataSection& s, size_t index) {
  const std::string name = "SEV metadata section " + std::to_string(index) + " (" + section_type_name(s.type) + ")";
  if (s.size == 0) return bad(name + " is empty", "metadata section size");
  if (s.gpa % kPageSize != 0 || s.size % kPageSize != 0) {
    return bad(name + " at GPA 0x" + to_hex_u64(s.gpa) + " size 0x" + to_hex_u64(s.size) + " is not 4 KiB-aligned",
               "metadata section gpa");
  }
  if (s.gpa + s.size > kFourGiB) return bad(name + " extends beyond 4 GiB", "metadata section gpa");
  return {};
}

Status parse_metadata(Ovmf& fw) {
  auto it = fw.table.find(kSevMetadataGuid);
  if (it == fw.table.end()) return {};
  auto offset = table_u32(fw, kSevMetadataGuid, "SEV metadata offset");
  if (!offset) return offset.error();
  if (*offset == 0 || *offset > fw.data.size()) {
    return bad("SEV metadata offset " + std::to_string(*offset) + " (from the end) lies outside the " +
                   std::to_string(fw.data.size()) + "-byte image",
               "SEV metadata offset");
  }
  const size_t start = fw.data.size() - *offset;
  ByteReader r(fw.data, "firmware image");
  auto sig = r.bytes(start, 4, "SEV metadata signature");
  if (!sig) return sig.error();
  if (as_chars(*sig) != "ASEV") return bad("SEV metadata at " + ByteReader::hex_offset(start) + " has no \"ASEV\" signature", "SEV metadata signature");
  auto length = r.le32(start + 4, "SEV metadata length");
  auto version = r.le32(start + 8, "SEV metadata version");
  auto count = r.le32(start + 12, "SEV metadata item count");
  if (!length) return length.error();
  if (!version) return version.error();
  if (!count) return count.error();
  if (*version != 1) return bad("SEV metadata version " + std::to_string(*version) + " is not supported (expected 1)", "SEV metadata version");
  if (*length < kMetadataHeader || *length > fw.data.size() - start ||
      std::uint64_t{*count} * kMetadataItem > *length - kMetadataHeader) {
    return bad("SEV metadata length " + std::to_string(*length) + " does not hold " + std::to_string(*count) +
                   " items inside the image",
               "SEV metadata length");
  }
  for (std::uint32_t i = 0; i < *count; ++i) {
    const size_t at = start + kMetadataHeader + i * kMetadataItem;
    auto gpa = r.le32(at, "metadata section gpa");
    auto size = r.le32(at + 4, "metadata section size");
    auto type = r.le32(at + 8, "metadata section type");
    if (!gpa || !size || !type) return bad("truncated SEV metadata item", "metadata section");
    MetadataSection s{*gpa, *size, *type};
    CCI_TRY(check_section(s, i));
    for (size_t j = 0; j < fw.sections.size(); ++j) {
      const auto& o = fw.sections[j];
      if (s.gpa < o.gpa + o.size && o.gpa < s.gpa + s.size) {
        return bad("SEV metadata sections " + std::to_string(j) + " and " + std::to_string(i) + " overlap (GPA 0x" +
                       to_hex_u64(s.gpa) + ")",
                   "metadata section gpa");
      }
    }
    fw.sections.push_back(s);
  }
  return {};
}

}  // namespace

const char* section_type_name(std::uint32_t type) {
  switch (static_cast<SectionType>(type)) {
    case SectionType::kSnpSecMem: return "SNP_SEC_MEM";
    case SectionType::kSnpSecrets: return "SNP_SECRETS";
    case SectionType::kCpuid: return "CPUID";
    case SectionType::kSvsmCaa: return "SVSM_CAA";
    case SectionType::kSnpKernelHashes: return "SNP_KERNEL_HASHES";
  }
  return "unknown";
}

std::optional<std::uint32_t> Ovmf::sev_es_reset_eip() const {
  auto v = table_u32(*this, kSevEsResetBlockGuid, "SEV-ES reset block");
  if (!v) return std::nullopt;
  return *v;
}

std::optional<std::uint32_t> Ovmf::hashes_table_gpa() const {
  auto v = table_u32(*this, kSevHashTableGuid, "SEV hash table");
  if (!v) return std::nullopt;
  return *v;
}

bool Ovmf::has_section(SectionType t) const {
  return std::any_of(sections.begin(), sections.end(),
                     [t](const MetadataSection& s) { return s.type == static_cast<std::uint32_t>(t); });
}

Result<Ovmf> parse_ovmf(Bytes data) {
  if (data.empty()) return bad("the firmware image is empty", "firmware");
  if (data.size() > kMaxFirmwareBytes) {
    return make_error(ErrorCode::kInvalidInput,
                      "the firmware image has " + std::to_string(data.size()) + " bytes; OVMF images are at most " +
                          std::to_string(kMaxFirmwareBytes >> 20) + " MiB",
                      "firmware");
  }
  Ovmf fw;
  fw.data = std::move(data);
  CCI_TRY(parse_footer_table(fw));
  CCI_TRY(parse_metadata(fw));
  return fw;
}

}  // namespace cci::launch
