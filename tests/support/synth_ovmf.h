// The 8 KiB synthetic OVMF-like image of shared specs/measure.md §3.2 D, generated here so
// tests can build variants of it (bad tables, overlapping sections) without committing
// binaries. Layout: filler byte[i] = (7i+3) & 0xff; an ASEV block at 0x1000; the footer
// GUID table ending 32 bytes before the end of the image.
#pragma once

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "base/byte_reader.h"
#include "base/bytes.h"
#include "launch/guid.h"

namespace cci::test {

struct SynthOvmfSpec {
  std::vector<std::tuple<std::uint32_t, std::uint32_t, std::uint32_t>> sections = {
      {0x800000, 0x2000, 1}, {0x802000, 0x1000, 2}, {0x803000, 0x1000, 3}, {0x804000, 0x1000, 0x10}};
  std::uint32_t reset_eip = 0x0080B004;
  std::uint32_t hash_table_gpa = 0x804C00;
  bool with_hash_table = true;
  int footer_length_delta = 0;  // corrupts the footer's total length
};

inline Bytes synth_ovmf(const SynthOvmfSpec& spec = {}) {
  using launch::guid_le;
  Bytes img(8192);
  for (size_t i = 0; i < img.size(); ++i) img[i] = static_cast<std::uint8_t>((i * 7 + 3) & 0xff);
  Bytes meta = to_bytes("ASEV");
  append_le(meta, 16 + 12 * spec.sections.size(), 4);
  append_le(meta, 1, 4);
  append_le(meta, spec.sections.size(), 4);
  for (auto [gpa, size, type] : spec.sections) {
    append_le(meta, gpa, 4);
    append_le(meta, size, 4);
    append_le(meta, type, 4);
  }
  std::copy(meta.begin(), meta.end(), img.begin() + 0x1000);
  Bytes table;
  auto entry = [&table](const Bytes& data, const launch::Guid& g) {
    table.insert(table.end(), data.begin(), data.end());
    append_le(table, data.size() + 18, 2);
    table.insert(table.end(), g.begin(), g.end());
  };
  Bytes eip;
  append_le(eip, spec.reset_eip, 4);
  entry(eip, guid_le("00f771de-1a7e-4fcb-890e-68c77e2fb44e"));
  if (spec.with_hash_table) {
    Bytes ht;
    append_le(ht, spec.hash_table_gpa, 4);
    append_le(ht, 0x400, 4);
    entry(ht, guid_le("7255371f-3a3b-4b04-927b-1da6efa8d454"));
  }
  Bytes off;
  append_le(off, 0x1000, 4);
  entry(off, guid_le("dc886566-984a-4798-a75e-5585a7bf67cc"));
  append_le(table, static_cast<std::uint64_t>(static_cast<long>(table.size() + 18) + spec.footer_length_delta), 2);
  auto footer = guid_le("96b582de-1fb2-45f7-baea-a366c55a082d");
  table.insert(table.end(), footer.begin(), footer.end());
  std::copy(table.begin(), table.end(), img.end() - 32 - static_cast<std::ptrdiff_t>(table.size()));
  return img;
}

}  // namespace cci::test
