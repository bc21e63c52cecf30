// A synthetic OVMF-shaped firmware image: the footer GUID table and SEV metadata that the
// launch digest reads, around deterministic filler. Not bootable. Used by tests (hostile
// variants), cci-bench image (firmware of realistic size) and documentation examples.
// With the defaults it is an 8 KiB image: filler byte[i] = (7i+3) & 0xff, an ASEV block 0x1000
// bytes before the end, the table ending 32 bytes before the end (the image the shared measure
// vectors were computed from with sev-snp-measure).
#pragma once

#include <algorithm>
#include <cstdint>
#include <tuple>
#include <vector>

#include "base/byte_reader.h"
#include "base/bytes.h"
#include "launch/ovmf.h"

namespace cci::launch {

struct SyntheticOvmfSpec {
  size_t size = 8192;  // a multiple of 4 KiB, at least 8 KiB
  std::vector<std::tuple<std::uint32_t, std::uint32_t, std::uint32_t>> sections = {  // gpa, size, type
      {0x800000, 0x2000, 1}, {0x802000, 0x1000, 2}, {0x803000, 0x1000, 3}, {0x804000, 0x1000, 0x10}};
  std::uint32_t reset_eip = 0x0080B004;
  std::uint32_t hash_table_gpa = 0x804C00;
  bool with_hash_table = true;
  int footer_length_delta = 0;  // corrupts the footer's total length (hostile-input tests)
};

inline Bytes synthetic_ovmf(const SyntheticOvmfSpec& spec = {}) {
  Bytes img(std::max<size_t>(spec.size, 8192));
  for (size_t i = 0; i < img.size(); ++i) img[i] = static_cast<std::uint8_t>((i * 7 + 3) & 0xff);
  constexpr size_t kMetadataFromEnd = 0x1000;
  Bytes meta = to_bytes("ASEV");
  append_le(meta, 16 + 12 * spec.sections.size(), 4);
  append_le(meta, 1, 4);
  append_le(meta, spec.sections.size(), 4);
  for (auto [gpa, size, type] : spec.sections) {
    append_le(meta, gpa, 4);
    append_le(meta, size, 4);
    append_le(meta, type, 4);
  }
  std::copy(meta.begin(), meta.end(), img.end() - static_cast<std::ptrdiff_t>(kMetadataFromEnd));
  Bytes table;
  auto entry = [&table](const Bytes& data, const Guid& g) {
    table.insert(table.end(), data.begin(), data.end());
    append_le(table, data.size() + 18, 2);
    table.insert(table.end(), g.begin(), g.end());
  };
  Bytes eip;
  append_le(eip, spec.reset_eip, 4);
  entry(eip, kSevEsResetBlockGuid);
  if (spec.with_hash_table) {
    Bytes ht;
    append_le(ht, spec.hash_table_gpa, 4);
    append_le(ht, 0x400, 4);
    entry(ht, kSevHashTableGuid);
  }
  Bytes off;
  append_le(off, kMetadataFromEnd, 4);
  entry(off, kSevMetadataGuid);
  append_le(table, static_cast<std::uint64_t>(static_cast<long>(table.size() + 18) + spec.footer_length_delta), 2);
  table.insert(table.end(), kFooterTableGuid.begin(), kFooterTableGuid.end());
  std::copy(table.begin(), table.end(), img.end() - 32 - static_cast<std::ptrdiff_t>(table.size()));
  return img;
}

}  // namespace cci::launch
