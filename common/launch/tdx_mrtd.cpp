// See tdx_mrtd.h.
#include "launch/tdx_mrtd.h"

#include <algorithm>
#include <array>

#include "base/byte_reader.h"
#include "base/hex.h"
#include "crypto/digest.h"

namespace cci::launch {
namespace {

constexpr size_t kDescriptorHeader = 16, kSectionBytes = 32, kMaxSections = 64;
constexpr std::uint64_t kChunk = 256;
constexpr std::uint64_t kMaxAddedBytes = std::uint64_t{4} << 30;
constexpr std::uint64_t kMaxGpa = std::uint64_t{1} << 52;  // the architectural physical-address limit

Error bad(const std::string& message, const char* field) { return make_error(ErrorCode::kMalformed, message, field); }

// A 128-byte extension buffer: the operation's ASCII name, the GPA (le64) at byte 16, zeros.
std::array<std::uint8_t, 128> extension_buffer(std::string_view op, std::uint64_t gpa) {
  std::array<std::uint8_t, 128> b{};
  std::copy(op.begin(), op.end(), b.begin());
  for (int i = 0; i < 8; ++i) b[16 + static_cast<size_t>(i)] = static_cast<std::uint8_t>(gpa >> (8 * i));
  return b;
}

}  // namespace

std::string tdvf_section_type_name(std::uint32_t type) {
  switch (type) {
    case 0: return "BFV";
    case 1: return "CFV";
    case 2: return "TD_HOB";
    case 3: return "TempMem";
    case 4: return "PermMem";
    case 5: return "Payload";
    case 6: return "PayloadParam";
    default: return "type " + std::to_string(type);
  }
}

Result<std::vector<TdvfSection>> parse_tdvf_metadata(const Ovmf& fw) {
  auto it = fw.table.find(kTdxMetadataGuid);
  if (it == fw.table.end()) {
    return make_error(ErrorCode::kInvalidInput,
                      "the firmware has no TDX metadata (footer table entry e47a6535-…): it is not a TDVF image, so a TD cannot start from it",
                      "TDX metadata offset");
  }
  ByteReader entry(it->second, "footer table entry TDX metadata offset");
  CCI_ASSIGN(offset, entry.le32(0, "TDX metadata offset"));
  const size_t size = fw.data.size();
  if (offset < kDescriptorHeader || offset > size) {
    return bad("TDX metadata offset " + std::to_string(offset) + " (from the end) lies outside the " + std::to_string(size) + "-byte image",
               "TDX metadata offset");
  }
  const size_t start = size - offset;
  ByteReader r(fw.data, "firmware image");
  CCI_ASSIGN(sig, r.bytes(start, 4, "TDVF descriptor signature"));
  if (as_chars(sig) != "TDVF") return bad("the TDX metadata at " + ByteReader::hex_offset(start) + " has no \"TDVF\" signature", "TDVF descriptor signature");
  CCI_ASSIGN(length, r.le32(start + 4, "TDVF descriptor length"));
  CCI_ASSIGN(version, r.le32(start + 8, "TDVF descriptor version"));
  CCI_ASSIGN(count, r.le32(start + 12, "TDVF descriptor section count"));
  if (version != 1) return bad("TDVF descriptor version " + std::to_string(version) + " is not supported (expected 1)", "TDVF descriptor version");
  if (count == 0 || count > kMaxSections) {
    return bad("TDVF descriptor lists " + std::to_string(count) + " sections (1 to " + std::to_string(kMaxSections) + " expected)",
               "TDVF descriptor section count");
  }
  if (length != kDescriptorHeader + std::uint64_t{count} * kSectionBytes || length > size - start) {
    return bad("TDVF descriptor length " + std::to_string(length) + " is not 16 + 32 x " + std::to_string(count) + " sections inside the image",
               "TDVF descriptor length");
  }
  std::vector<TdvfSection> out;
  std::uint64_t added = 0;
  for (std::uint32_t i = 0; i < count; ++i) {
    const size_t at = start + kDescriptorHeader + i * kSectionBytes;
    TdvfSection s;
    CCI_ASSIGN(data_offset, r.le32(at, "TDVF section DataOffset"));
    CCI_ASSIGN(raw_size, r.le32(at + 4, "TDVF section RawDataSize"));
    CCI_ASSIGN(gpa, r.le64(at + 8, "TDVF section MemoryAddress"));
    CCI_ASSIGN(mem_size, r.le64(at + 16, "TDVF section MemoryDataSize"));
    CCI_ASSIGN(type, r.le32(at + 24, "TDVF section Type"));
    CCI_ASSIGN(attributes, r.le32(at + 28, "TDVF section Attributes"));
    s = {data_offset, raw_size, gpa, mem_size, type, attributes};
    const std::string name = "TDVF section " + std::to_string(i) + " (" + tdvf_section_type_name(type) + ")";
    if (type > 6) return bad(name + " has a type this version does not know how a VMM adds", "TDVF section Type");
    if ((attributes & ~(kTdvfAttrMrExtend | kTdvfAttrPageAug)) != 0) {
      return bad(name + " has unknown attributes 0x" + to_hex_u64(attributes), "TDVF section Attributes");
    }
    if ((attributes & kTdvfAttrMrExtend) && (attributes & kTdvfAttrPageAug)) {
      return bad(name + " is both MR.EXTEND and PAGE.AUG: a page accepted later cannot be measured at build time", "TDVF section Attributes");
    }
    if (mem_size == 0) return bad(name + " is empty", "TDVF section MemoryDataSize");
    if (gpa % kPageSize != 0 || mem_size % kPageSize != 0) {
      return bad(name + " at GPA 0x" + to_hex_u64(gpa) + " size 0x" + to_hex_u64(mem_size) + " is not 4 KiB-aligned", "TDVF section MemoryAddress");
    }
    if (gpa >= kMaxGpa || mem_size > kMaxGpa - gpa) return bad(name + " extends beyond the physical address space", "TDVF section MemoryAddress");
    if (raw_size > mem_size) {
      return bad(name + " has " + std::to_string(raw_size) + " bytes in the file but " + std::to_string(mem_size) + " in memory", "TDVF section RawDataSize");
    }
    if (std::uint64_t{data_offset} + raw_size > size) {
      return bad(name + " data [" + std::to_string(data_offset) + ", +" + std::to_string(raw_size) + ") lies outside the image", "TDVF section DataOffset");
    }
    for (size_t j = 0; j < out.size(); ++j) {
      const auto& o = out[j];
      if (gpa < o.gpa + o.mem_size && o.gpa < gpa + mem_size) {
        return bad("TDVF sections " + std::to_string(j) + " and " + std::to_string(i) + " overlap (GPA 0x" + to_hex_u64(gpa) + ")",
                   "TDVF section MemoryAddress");
      }
    }
    if (!(attributes & kTdvfAttrPageAug)) {
      added += mem_size;
      if (added > kMaxAddedBytes) return bad("the TDVF sections add more than 4 GiB of memory", "TDVF section MemoryDataSize");
    }
    out.push_back(s);
  }
  return out;
}

MrtdResult compute_mrtd(const Ovmf& fw, const std::vector<TdvfSection>& sections) {
  crypto::Hasher h(crypto::DigestAlg::kSha384);
  MrtdResult out;
  std::array<std::uint8_t, kPageSize> page{};
  for (const auto& s : sections) {
    if (s.attributes & kTdvfAttrPageAug) continue;  // accepted by the guest later: not in MRTD
    for (std::uint64_t off = 0; off < s.mem_size; off += kPageSize) {
      const std::uint64_t gpa = s.gpa + off;
      const auto add = extension_buffer("MEM.PAGE.ADD", gpa);
      h.update(ByteView(add.data(), add.size()));
      ++out.pages_added;
      if (!(s.attributes & kTdvfAttrMrExtend)) continue;
      // The page's contents: the section's file bytes, zeros past RawDataSize.
      page.fill(0);
      if (off < s.raw_size) {
        const std::uint64_t n = std::min<std::uint64_t>(kPageSize, s.raw_size - off);
        const auto* src = fw.data.data() + s.data_offset + off;
        std::copy(src, src + n, page.begin());
      }
      for (std::uint64_t c = 0; c < kPageSize; c += kChunk) {
        const auto ext = extension_buffer("MR.EXTEND", gpa + c);
        h.update(ByteView(ext.data(), ext.size()));
        h.update(ByteView(page.data() + c, kChunk));
        ++out.chunks_extended;
      }
    }
  }
  out.mrtd = h.finish();
  return out;
}

}  // namespace cci::launch
