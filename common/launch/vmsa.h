// Initial VMSA pages (SEV-ES save area) as the hypervisor creates them for each vCPU,
// and the vCPU signatures sev-snp-measure knows (virtee/sev-snp-measure vmsa.py; Linux
// struct sev_es_save_area; AMD APM vol. 2 table B-4; AMD CPUID spec #25481).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"

namespace cci::launch {

// Which VMM builds the guest; they differ in initial register state and page order.
enum class VmmType { kQemu, kEc2, kGce };
const char* vmm_type_name(VmmType t);                        // "qemu" | "ec2" | "gce"
std::optional<VmmType> vmm_type_from_name(std::string_view);  // case-insensitive

inline constexpr std::uint32_t kBspEip = 0xfffffff0;
inline constexpr std::uint64_t kVmsaGpa = 0xFFFFFFFFF000ULL;  // KVM's INITIAL_VMSA_GPA

// CPUID Fn0000_0001_EAX from family / model / stepping.
std::uint32_t cpu_signature(std::uint32_t family, std::uint32_t model, std::uint32_t stepping);
// The QEMU CPU models and their signatures, in a stable order for --help.
const std::vector<std::pair<std::string, std::uint32_t>>& known_vcpu_types();
std::optional<std::uint32_t> vcpu_type_signature(std::string_view name);

// One 4096-byte VMSA page. `eip` is kBspEip for the boot processor and the SEV-ES reset
// block's value for the others; `sev_features` is the guest-features word for SNP and
// 0 for SEV-ES.
Bytes build_vmsa_page(std::uint32_t eip, std::uint64_t sev_features, std::uint32_t vcpu_sig, VmmType vmm);

}  // namespace cci::launch
