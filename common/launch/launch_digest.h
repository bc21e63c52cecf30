// Expected launch digests for AMD SEV, SEV-ES, SEV-SNP and Hygon CSV guests started by a
// VMM from OVMF, optionally with measured direct boot (kernel-hashes=on).
//
// Bit-for-bit compatible with virtee/sev-snp-measure (virtee/sev-snp-measure gctx.py, guest.py):
//   snp            SHA-384 chain of 112-byte PAGE_INFO records (SNP ABI 56860 §8.17.2):
//                  firmware pages, then the SEV metadata sections in table order, then one
//                  VMSA page per vCPU;
//   snp:ovmf-hash  the chain value after the firmware pages only (reusable with
//                  LaunchConfig::snp_ovmf_hash);
//   seves          SHA-256(firmware ‖ [hashes table] ‖ VMSA pages);
//   sev            SHA-256(firmware ‖ [hashes table]);
//   csv            SM3(firmware ‖ [hashes table]) — Hygon CSV (CSV1) with QEMU + OVMF.
//                  Inferred from public code, not yet confirmed on hardware
//                  (docs/launch-measurement.md, "CSV"); results carry that warning.
//   tdx            Intel TDX MRTD of a TDVF image (launch/tdx_mrtd.h): SHA-384 over the
//                  VMM's TDH.MEM.PAGE.ADD / TDH.MR.EXTEND buffers in upstream QEMU + KVM order.
//                  No independent reference value was available; results carry that warning.
//                  Direct kernel boot is measured by TDVF into RTMRs, which are not computed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/digest.h"
#include "launch/ovmf.h"
#include "launch/vmsa.h"

namespace cci::launch {

enum class Mode { kSnp, kSnpOvmfHash, kSevEs, kSev, kCsv, kTdx };
const char* mode_name(Mode m);                      // "snp", "snp:ovmf-hash", "seves", "sev", "csv", "tdx"
std::optional<Mode> mode_from_name(std::string_view name);

inline constexpr unsigned kMaxVcpus = 512;
inline constexpr std::uint64_t kDefaultGuestFeatures = 0x1;  // SNPActive (sev-snp-measure default)
// Command-line limit when the kernel carries no bzImage header to state its own
// (x86 COMMAND_LINE_SIZE 2048, including the terminating NUL).
inline constexpr size_t kDefaultCmdlineMax = 2047;

struct LaunchConfig {
  Mode mode = Mode::kSnp;
  std::string ovmf;                    // firmware file, exactly as given to -bios
  std::optional<std::string> kernel;   // measured direct boot when set
  std::optional<std::string> initrd;   // needs kernel
  std::optional<std::string> append;   // kernel command line; needs kernel
  unsigned vcpus = 0;                  // snp / seves: 1..512
  std::uint32_t vcpu_sig = 0;          // CPUID signature placed in RDX (qemu)
  VmmType vmm = VmmType::kQemu;
  std::uint64_t guest_features = kDefaultGuestFeatures;  // snp: VMSA SEV_FEATURES
  std::optional<Bytes> snp_ovmf_hash;  // snp: 48-byte precomputed firmware chain value
};

// How the user named the vCPU model (sev-snp-measure flags --vcpu-type, --vcpu-sig,
// --vcpu-family/--vcpu-model/--vcpu-stepping; the first one given wins in that order:
// family, sig, type).
struct VcpuSpec {
  std::optional<std::string> type;
  std::optional<std::uint32_t> sig;
  std::optional<std::uint32_t> family, model, stepping;
};
// The signature for RDX. sev and csv need none (0); ec2 and gce ignore it (0 when absent);
// snp and seves under QEMU need one. Unknown type names list the known ones.
Result<std::uint32_t> resolve_vcpu_signature(const VcpuSpec& spec, Mode mode, VmmType vmm);

// Digests of the inputs, recorded in deployment manifests next to the launch digest.
struct InputDigest {
  std::string role;    // "firmware" | "kernel" | "initrd" | "cmdline"
  std::string path;    // empty for the command line
  std::uint64_t size = 0;
  Bytes sha256;
  Bytes sha384;        // firmware only
  Bytes sm3;           // csv mode only
};

struct LaunchDigest {
  Mode mode = Mode::kSnp;
  crypto::DigestAlg alg = crypto::DigestAlg::kSha384;
  Bytes digest;
  std::vector<InputDigest> inputs;
  std::vector<std::string> warnings;  // e.g. CSV not hardware-confirmed, SNPActive clear
  std::string derivation;             // tdx: how the value was derived (sections, pages, order)
};

// The 176-byte SEV hashes table (QEMU target/i386/sev.c build_kernel_loader_hashes):
// header GUID, le16 168, entries {GUID, le16 50, SHA-256} for cmdline, initrd, kernel,
// zero padding to a multiple of 16.
Bytes build_hashes_table(ByteView cmdline_sha256, ByteView initrd_sha256, ByteView kernel_sha256);

// SNP PAGE_INFO chaining (kept public for tests and the simulator).
class SnpLaunchContext {
 public:
  enum PageType : std::uint8_t { kNormal = 1, kVmsa = 2, kZero = 3, kUnmeasured = 4, kSecrets = 5, kCpuid = 6 };
  SnpLaunchContext() : ld_(48, 0) {}
  explicit SnpLaunchContext(Bytes seed) : ld_(std::move(seed)) {}
  void update(PageType type, std::uint64_t gpa, ByteView contents48);
  void update_pages(PageType type, std::uint64_t gpa, ByteView data);  // NORMAL / VMSA: hashed 4 KiB pages
  void update_empty_pages(PageType type, std::uint64_t gpa, std::uint64_t size);  // zero contents
  const Bytes& digest() const { return ld_; }

 private:
  Bytes ld_;
};

// Computes the digest. Errors: missing or unreadable files (kIo), malformed firmware
// (kMalformed), impossible combinations such as a kernel for firmware without a hashes
// table, vCPU count outside 1..512, or a command line over the kernel's limit (kUsage /
// kInvalidInput). Kernel and initrd are streamed and hashed on their own threads while
// the firmware is read and parsed.
Result<LaunchDigest> compute_launch_digest(const LaunchConfig& cfg);

}  // namespace cci::launch
