// Fuzz target: OVMF footer table + SEV metadata parser, and the SNP digest over what it
// accepts (section walk, hashes page placement, VMSA pages).
#include <cstdint>

#include "launch/launch_digest.h"
#include "launch/ovmf.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  if (size > (1u << 20)) return 0;
  auto fw = cci::launch::parse_ovmf(cci::Bytes(data, data + size));
  if (!fw) return 0;
  (void)fw->sev_es_reset_eip();
  (void)fw->hashes_table_gpa();
  // Bound the work: sections can describe up to 4 GiB of zero pages.
  std::uint64_t pages = 0;
  for (const auto& s : fw->sections) pages += s.size / cci::launch::kPageSize;
  if (pages > 4096) return 0;
  cci::launch::SnpLaunchContext ctx;
  ctx.update_pages(cci::launch::SnpLaunchContext::kNormal, fw->gpa(), fw->data);
  for (const auto& s : fw->sections) ctx.update_empty_pages(cci::launch::SnpLaunchContext::kZero, s.gpa, s.size);
  return 0;
}
