#include "launch/vmsa.h"

#include <algorithm>
#include <cctype>

#include "base/byte_reader.h"
#include "base/text.h"

namespace cci::launch {
namespace {

// Byte offsets in the save area (Linux struct sev_es_save_area).
enum Offset : size_t {
  kEs = 0x00, kCs = 0x10, kSs = 0x20, kDs = 0x30, kFs = 0x40, kGs = 0x50,
  kGdtr = 0x60, kLdtr = 0x70, kIdtr = 0x80, kTr = 0x90,
  kEfer = 0xd0, kCr4 = 0x148, kCr0 = 0x158, kDr7 = 0x160, kDr6 = 0x168,
  kRflags = 0x170, kRip = 0x178, kGPat = 0x268, kRdx = 0x310,
  kSevFeatures = 0x3b0, kXcr0 = 0x3e8, kMxcsr = 0x408, kX87Fcw = 0x410,
};

// struct vmcb_seg: le16 selector, le16 attrib, le32 limit, le64 base.
void put_segment(Bytes& page, size_t at, std::uint16_t selector, std::uint16_t attrib, std::uint32_t limit,
                 std::uint64_t base) {
  put_le(page, at, selector, 2);
  put_le(page, at + 2, attrib, 2);
  put_le(page, at + 4, limit, 4);
  put_le(page, at + 8, base, 8);
}

// Register values that differ between VMMs (virtee/sev-snp-measure vmsa.py).
struct VmmRegisters {
  std::uint16_t cs_attrib;
  std::uint16_t ss_attrib;
  std::uint16_t tr_attrib;
  std::uint64_t g_pat;
  std::optional<std::uint64_t> fixed_rdx;  // the VMM ignores the vCPU signature
  std::uint32_t mxcsr;
  std::uint16_t x87_fcw;
};

VmmRegisters registers_for(VmmType vmm, std::uint32_t eip) {
  switch (vmm) {
    case VmmType::kEc2:
      return {static_cast<std::uint16_t>(eip == kBspEip ? 0x9a : 0x9b), 0x92, 0x83, 0x0007040600070406ULL, 0x600, 0, 0};
    case VmmType::kGce:
      return {0x9b, 0x93, 0x8b, 0x0000000000070106ULL, 0x600, 0, 0};
    case VmmType::kQemu:
      break;
  }
  // QEMU/KVM with KVM_SEV_INIT2: MXCSR and FCW at their architectural reset values.
  return {0x9b, 0x93, 0x8b, 0x0007040600070406ULL, std::nullopt, 0x1f80, 0x37f};
}

}  // namespace

const char* vmm_type_name(VmmType t) {
  switch (t) {
    case VmmType::kQemu: return "qemu";
    case VmmType::kEc2: return "ec2";
    case VmmType::kGce: return "gce";
  }
  return "?";
}

std::optional<VmmType> vmm_type_from_name(std::string_view name) {
  const std::string lower = ascii_lower(name);
  for (auto t : {VmmType::kQemu, VmmType::kEc2, VmmType::kGce}) {
    if (lower == vmm_type_name(t)) return t;
  }
  return std::nullopt;
}

std::uint32_t cpu_signature(std::uint32_t family, std::uint32_t model, std::uint32_t stepping) {
  std::uint32_t family_low = family > 0xf ? 0xf : family;
  std::uint32_t family_ext = family > 0xf ? (family - 0xf) & 0xff : 0;
  return (family_ext << 20) | (((model >> 4) & 0xf) << 16) | (family_low << 8) | ((model & 0xf) << 4) | (stepping & 0xf);
}

const std::vector<std::pair<std::string, std::uint32_t>>& known_vcpu_types() {
  // QEMU builtin_x86_defs AMD EPYC models (family, model, stepping), as sev-snp-measure
  // lists them, plus the later QEMU versions of the same models (same signature).
  static const std::vector<std::pair<std::string, std::uint32_t>> types = [] {
    std::vector<std::pair<std::string, std::uint32_t>> t;
    for (const char* n : {"EPYC", "EPYC-v1", "EPYC-v2", "EPYC-IBPB", "EPYC-v3", "EPYC-v4"}) t.emplace_back(n, cpu_signature(23, 1, 2));
    for (const char* n : {"EPYC-Rome", "EPYC-Rome-v1", "EPYC-Rome-v2", "EPYC-Rome-v3", "EPYC-Rome-v4"}) t.emplace_back(n, cpu_signature(23, 49, 0));
    for (const char* n : {"EPYC-Milan", "EPYC-Milan-v1", "EPYC-Milan-v2", "EPYC-Milan-v3"}) t.emplace_back(n, cpu_signature(25, 1, 1));
    for (const char* n : {"EPYC-Genoa", "EPYC-Genoa-v1", "EPYC-Genoa-v2"}) t.emplace_back(n, cpu_signature(25, 17, 0));
    for (const char* n : {"EPYC-Turin", "EPYC-Turin-v1"}) t.emplace_back(n, cpu_signature(26, 0, 0));
    return t;
  }();
  return types;
}

std::optional<std::uint32_t> vcpu_type_signature(std::string_view name) {
  for (const auto& [n, sig] : known_vcpu_types()) {
    if (n == name) return sig;
  }
  return std::nullopt;
}

Bytes build_vmsa_page(std::uint32_t eip, std::uint64_t sev_features, std::uint32_t vcpu_sig, VmmType vmm) {
  const VmmRegisters r = registers_for(vmm, eip);
  Bytes page(4096, 0);
  put_segment(page, kEs, 0, 0x93, 0xffff, 0);
  put_segment(page, kCs, 0xf000, r.cs_attrib, 0xffff, eip & 0xffff0000u);
  put_segment(page, kSs, 0, r.ss_attrib, 0xffff, 0);
  put_segment(page, kDs, 0, 0x93, 0xffff, 0);
  put_segment(page, kFs, 0, 0x93, 0xffff, 0);
  put_segment(page, kGs, 0, 0x93, 0xffff, 0);
  put_segment(page, kGdtr, 0, 0, 0xffff, 0);
  put_segment(page, kLdtr, 0, 0x82, 0xffff, 0);
  put_segment(page, kIdtr, 0, 0, 0xffff, 0);
  put_segment(page, kTr, 0, r.tr_attrib, 0xffff, 0);
  put_le(page, kEfer, 0x1000, 8);  // EFER.SVME, set by KVM
  put_le(page, kCr4, 0x40, 8);     // CR4.MCE
  put_le(page, kCr0, 0x10, 8);
  put_le(page, kDr7, 0x400, 8);
  put_le(page, kDr6, 0xffff0ff0, 8);
  put_le(page, kRflags, 0x2, 8);
  put_le(page, kRip, eip & 0xffffu, 8);
  put_le(page, kGPat, r.g_pat, 8);
  put_le(page, kRdx, r.fixed_rdx.value_or(vcpu_sig), 8);
  put_le(page, kSevFeatures, sev_features, 8);
  put_le(page, kXcr0, 0x1, 8);
  put_le(page, kMxcsr, r.mxcsr, 4);
  put_le(page, kX87Fcw, r.x87_fcw, 2);
  return page;
}

}  // namespace cci::launch
