// Fuzz target: OVMF footer table + SEV metadata parser, and the SNP digest over what it
// accepts (section walk, hashes page placement, VMSA pages); the TDVF metadata parser and the
// TDX MRTD over what it accepts.
#include <cstdint>

#include "launch/launch_digest.h"
#include "launch/ovmf.h"
#include "launch/tdx_mrtd.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  if (size > (1u << 20)) return 0;
  auto fw = cci::launch::parse_ovmf(cci::Bytes(data, data + size));
  if (!fw) return 0;
  (void)fw->sev_es_reset_eip();
  (void)fw->hashes_table_gpa();
  if (auto tdvf = cci::launch::parse_tdvf_metadata(*fw)) {
    std::uint64_t added = 0;
    for (const auto& s : *tdvf) added += s.mem_size / 0x1000;
    if (added <= 4096) (void)cci::launch::compute_mrtd(*fw, *tdvf);  // bounded work, as below
  }
  // Bound the work: sections can describe up to 4 GiB of zero pages.
  std::uint64_t pages = 0;
  for (const auto& s : fw->sections) pages += s.size / cci::launch::kPageSize;
  if (pages > 4096) return 0;
  cci::launch::SnpLaunchContext ctx;
  ctx.update_pages(cci::launch::SnpLaunchContext::kNormal, fw->gpa(), fw->data);
  for (const auto& s : fw->sections) ctx.update_empty_pages(cci::launch::SnpLaunchContext::kZero, s.gpa, s.size);
  return 0;
}
