#include "launch/launch_digest.h"
#include "launch/tdx_mrtd.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include "base/byte_reader.h"
#include "base/file_io.h"
#include "base/hex.h"
#include "base/unique_fd.h"

namespace cci::launch {
namespace {

using crypto::DigestAlg;

constexpr Guid kHashTableHeaderGuid = guid_le("9438d606-4f22-4cc9-b479-a793d411fd21");
constexpr Guid kCmdlineEntryGuid = guid_le("97d02dd8-bd20-4c94-aa78-e7714d36ab2a");
constexpr Guid kInitrdEntryGuid = guid_le("44baf731-3a2f-4bd7-9af1-41e29169781d");
constexpr Guid kKernelEntryGuid = guid_le("4de79437-abd2-427f-b835-d5b172d2045b");
constexpr size_t kHashTableLen = 16 + 2 + 3 * (16 + 2 + 32);  // 168
constexpr size_t kHashTablePadded = (kHashTableLen + 15) & ~size_t{15};  // 176

// bzImage setup header (Linux Documentation/arch/x86/boot.rst): "HdrS" at 0x202, the
// protocol version at 0x206, cmdline_size (without the NUL) at 0x238 from protocol 2.06.
constexpr size_t kSetupHeaderBytes = 0x23c;

struct StreamedFile {
  InputDigest digest;
  Bytes head;  // the first kSetupHeaderBytes bytes (or fewer)
};

// A second digest of the same byte stream on its own thread: the reader hashes SHA-256 and
// hands each chunk over, so a file is read once while SHA-256 and SM3 (which is ~6x slower
// here) run in parallel. At most kDepth chunks are in flight.
class SideHasher {
 public:
  explicit SideHasher(DigestAlg alg) : hasher_(alg), thread_([this] { loop(); }) {}
  ~SideHasher() { close(); }
  SideHasher(const SideHasher&) = delete;
  SideHasher& operator=(const SideHasher&) = delete;

  void push(std::shared_ptr<const Bytes> chunk) {
    std::unique_lock<std::mutex> lock(mu_);
    space_.wait(lock, [this] { return queue_.size() < kDepth; });
    queue_.push_back(std::move(chunk));
    data_.notify_one();
  }
  Bytes finish() {
    close();
    return std::move(result_);
  }

 private:
  static constexpr size_t kDepth = 8;
  void close() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
    }
    data_.notify_one();
    if (thread_.joinable()) thread_.join();
  }
  void loop() {
    for (;;) {
      std::shared_ptr<const Bytes> chunk;
      {
        std::unique_lock<std::mutex> lock(mu_);
        data_.wait(lock, [this] { return closed_ || !queue_.empty(); });
        if (queue_.empty()) break;
        chunk = std::move(queue_.front());
        queue_.pop_front();
      }
      space_.notify_one();
      hasher_.update(*chunk);
    }
    result_ = hasher_.finish();
  }

  crypto::Hasher hasher_;
  std::mutex mu_;
  std::condition_variable data_, space_;
  std::deque<std::shared_ptr<const Bytes>> queue_;
  bool closed_ = false;
  Bytes result_;
  std::thread thread_;  // last: starts after every member above exists
};

// Streams `path` once, computing SHA-256 (and SM3 when asked). Regular files and character
// devices (/dev/null, as the reference's tests use) are accepted.
Result<StreamedFile> stream_file(const std::string& role, const std::string& path, bool want_sm3) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return make_error(ErrorCode::kIo, "cannot open " + role + " " + path + ": " + errno_text(errno), role);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !(S_ISREG(st.st_mode) || S_ISCHR(st.st_mode))) {
    return make_error(ErrorCode::kInvalidInput, role + " " + path + " is not a regular file", role);
  }
  crypto::Hasher sha256(DigestAlg::kSha256);
  std::optional<SideHasher> sm3;
  if (want_sm3) sm3.emplace(DigestAlg::kSm3);
  StreamedFile out;
  std::uint64_t total = 0;
  for (;;) {
    auto buf = std::make_shared<Bytes>(1 << 20);
    ssize_t n = ::read(fd.get(), buf->data(), buf->size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error(ErrorCode::kIo, "cannot read " + role + " " + path + ": " + errno_text(errno), role);
    if (n == 0) break;
    buf->resize(static_cast<size_t>(n));
    ByteView chunk(*buf);
    sha256.update(chunk);
    if (out.head.size() < kSetupHeaderBytes) {
      size_t take = std::min(kSetupHeaderBytes - out.head.size(), chunk.size());
      out.head.insert(out.head.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(take));
    }
    total += static_cast<std::uint64_t>(n);
    if (sm3) sm3->push(std::move(buf));
  }
  out.digest.role = role;
  out.digest.path = path;
  out.digest.size = total;
  out.digest.sha256 = sha256.finish();
  if (sm3) out.digest.sm3 = sm3->finish();
  return out;
}

// The kernel's own command-line limit when it is a bzImage with protocol >= 2.06.
size_t cmdline_limit(ByteView kernel_head) {
  ByteReader r(kernel_head, "kernel setup header");
  auto magic = r.bytes(0x202, 4, "header magic");
  auto version = r.le16(0x206, "boot protocol version");
  auto size = r.le32(0x238, "cmdline_size");
  if (magic && as_chars(*magic) == "HdrS" && version && *version >= 0x0206 && size) return *size;
  return kDefaultCmdlineMax;
}

struct KernelHashes {
  Bytes table;                  // 176 bytes
  std::vector<InputDigest> inputs;
};

// Hashes kernel, initrd and command line (kernel and initrd on their own threads).
Result<KernelHashes> hash_kernel_inputs(const LaunchConfig& cfg, bool want_sm3) {
  auto kernel_job = std::async(std::launch::async, [&] { return stream_file("kernel", *cfg.kernel, want_sm3); });
  std::optional<std::future<Result<StreamedFile>>> initrd_job;
  if (cfg.initrd) initrd_job = std::async(std::launch::async, [&] { return stream_file("initrd", *cfg.initrd, want_sm3); });
  auto kernel = kernel_job.get();
  std::optional<Result<StreamedFile>> initrd;
  if (initrd_job) initrd = initrd_job->get();
  if (!kernel) return kernel.error();
  if (initrd && !*initrd) return (*initrd).error();

  const std::string cmdline = cfg.append.value_or("");
  if (cmdline.find('\0') != std::string::npos) {
    return make_error(ErrorCode::kInvalidInput, "the kernel command line contains a NUL byte", "append");
  }
  const size_t limit = cmdline_limit(kernel->head);
  if (cmdline.size() > limit) {
    return make_error(ErrorCode::kInvalidInput,
                      "the kernel command line has " + std::to_string(cmdline.size()) + " bytes; the kernel accepts at most " +
                          std::to_string(limit) + " (the hashes table measures what the guest will see)",
                      "append");
  }
  // The command line is measured with its terminating NUL; no command line is "\0".
  Bytes cmdline_z(cmdline.begin(), cmdline.end());
  cmdline_z.push_back(0);
  InputDigest cmd{"cmdline", "", cmdline.size(), crypto::digest(DigestAlg::kSha256, cmdline_z), {}, {}};
  if (want_sm3) cmd.sm3 = crypto::digest(DigestAlg::kSm3, cmdline_z);
  // No initrd measures like an empty one.
  InputDigest initrd_digest{"initrd", "", 0, crypto::digest(DigestAlg::kSha256, {}), {}, {}};
  if (initrd) initrd_digest = (*initrd)->digest;
  else if (want_sm3) initrd_digest.sm3 = crypto::digest(DigestAlg::kSm3, {});

  KernelHashes out;
  out.table = build_hashes_table(cmd.sha256, initrd_digest.sha256, kernel->digest.sha256);
  out.inputs = {kernel->digest, initrd_digest, cmd};
  return out;
}

Status check_kernel_flags(const LaunchConfig& cfg) {
  if (!cfg.kernel && cfg.initrd) return make_error(ErrorCode::kUsage, "--initrd needs --kernel", "initrd");
  if (!cfg.kernel && cfg.append) return make_error(ErrorCode::kUsage, "--append needs --kernel", "append");
  return {};
}

Status check_vcpus(const LaunchConfig& cfg) {
  if (cfg.vcpus == 0 || cfg.vcpus > kMaxVcpus) {
    return make_error(ErrorCode::kUsage,
                      "--vcpus must be between 1 and " + std::to_string(kMaxVcpus) + " (got " + std::to_string(cfg.vcpus) + ")",
                      "vcpus");
  }
  return {};
}

Status require_hashes_table(const Ovmf& fw) {
  auto gpa = fw.hashes_table_gpa();
  if (!gpa || *gpa == 0) {
    return make_error(ErrorCode::kInvalidInput,
                      "a kernel was given but the firmware has no SEV hashes table (footer GUID 7255371f-…): it does not "
                      "support measured direct boot (kernel-hashes); use an AmdSev OVMF build or drop --kernel",
                      "kernel");
  }
  return {};
}

Result<std::uint32_t> require_reset_eip(const Ovmf& fw) {
  if (!fw.has_footer_table) {
    return make_error(ErrorCode::kMalformed,
                      "the firmware has no OVMF footer table (GUID 96b582de-… 32 bytes before its end): not an OVMF image "
                      "built for SEV",
                      "footer table");
  }
  auto eip = fw.sev_es_reset_eip();
  if (!eip) {
    return make_error(ErrorCode::kMalformed,
                      "the firmware has no SEV-ES reset block (footer GUID 00f771de-…): it cannot start SEV-ES or SNP "
                      "application processors",
                      "SEV-ES reset block");
  }
  return *eip;
}

Result<Ovmf> load_firmware(const std::string& path) {
  auto data = read_file(path, kMaxFirmwareBytes);
  if (!data) return data.error();
  return parse_ovmf(std::move(*data));
}

InputDigest firmware_digest(const LaunchConfig& cfg, const Ovmf& fw) {
  InputDigest d{"firmware", cfg.ovmf, fw.data.size(), crypto::digest(DigestAlg::kSha256, fw.data),
                crypto::digest(DigestAlg::kSha384, fw.data), {}};
  if (cfg.mode == Mode::kCsv) d.sm3 = crypto::digest(DigestAlg::kSm3, fw.data);
  return d;
}

// One metadata section for SNP (sev-snp-measure guest.py snp_update_section).
Status snp_measure_section(SnpLaunchContext& ctx, const MetadataSection& s, const Ovmf& fw, const KernelHashes* hashes,
                           VmmType vmm) {
  using PT = SnpLaunchContext;
  switch (static_cast<SectionType>(s.type)) {
    case SectionType::kSnpSecMem:
      ctx.update_empty_pages(vmm == VmmType::kGce ? PT::kUnmeasured : PT::kZero, s.gpa, s.size);
      return {};
    case SectionType::kSnpSecrets:
      ctx.update_empty_pages(PT::kSecrets, s.gpa, kPageSize);
      return {};
    case SectionType::kCpuid:
      if (vmm != VmmType::kEc2) ctx.update_empty_pages(PT::kCpuid, s.gpa, kPageSize);
      return {};
    case SectionType::kSvsmCaa:
      ctx.update_empty_pages(PT::kZero, s.gpa, s.size);
      return {};
    case SectionType::kSnpKernelHashes: {
      if (!hashes) {
        ctx.update_empty_pages(PT::kZero, s.gpa, s.size);
        return {};
      }
      const std::uint64_t offset = *fw.hashes_table_gpa() & (kPageSize - 1);
      if (s.size != kPageSize || offset + hashes->table.size() > kPageSize) {
        return make_error(ErrorCode::kMalformed, "the SNP_KERNEL_HASHES section cannot hold the hashes table (size 0x" +
                                                     to_hex_u64(s.size) + ", table offset 0x" + to_hex_u64(offset) + ")",
                          "metadata section size");
      }
      Bytes page(kPageSize, 0);
      std::copy(hashes->table.begin(), hashes->table.end(), page.begin() + static_cast<std::ptrdiff_t>(offset));
      ctx.update_pages(PT::kNormal, s.gpa, page);
      return {};
    }
  }
  return make_error(ErrorCode::kUnsupported,
                    "SEV metadata section type 0x" + to_hex_u64(s.type) + " at GPA 0x" + to_hex_u64(s.gpa) + " is unknown",
                    "metadata section type");
}

// SNP measures the firmware as whole 4 KiB pages.
Status require_whole_pages(const Ovmf& fw) {
  if (fw.data.size() % kPageSize == 0) return {};
  return make_error(ErrorCode::kMalformed, "the firmware size " + std::to_string(fw.data.size()) + " is not a multiple of 4 KiB",
                    "firmware");
}

// The SNP chain after the firmware pages (what --mode snp:ovmf-hash prints).
SnpLaunchContext snp_firmware_context(const Ovmf& fw) {
  SnpLaunchContext ctx;
  ctx.update_pages(SnpLaunchContext::kNormal, fw.gpa(), fw.data);
  return ctx;
}

Result<Bytes> snp_digest(const LaunchConfig& cfg, const Ovmf& fw, const KernelHashes* hashes) {
  auto eip = require_reset_eip(fw);
  if (!eip) return eip.error();
  if (hashes && !fw.has_section(SectionType::kSnpKernelHashes)) {
    return make_error(ErrorCode::kInvalidInput,
                      "a kernel was given but the firmware's SEV metadata has no SNP_KERNEL_HASHES section: it does not "
                      "support measured direct boot under SNP",
                      "kernel");
  }
  CCI_TRY(require_whole_pages(fw));
  SnpLaunchContext ctx = cfg.snp_ovmf_hash ? SnpLaunchContext(*cfg.snp_ovmf_hash) : snp_firmware_context(fw);
  for (const auto& s : fw.sections) CCI_TRY(snp_measure_section(ctx, s, fw, hashes, cfg.vmm));
  if (cfg.vmm == VmmType::kEc2) {  // EC2 measures the CPUID pages last
    for (const auto& s : fw.sections) {
      if (s.type == static_cast<std::uint32_t>(SectionType::kCpuid)) ctx.update_empty_pages(SnpLaunchContext::kCpuid, s.gpa, kPageSize);
    }
  }
  for (unsigned i = 0; i < cfg.vcpus; ++i) {
    Bytes vmsa = build_vmsa_page(i == 0 ? kBspEip : *eip, cfg.guest_features, cfg.vcpu_sig, cfg.vmm);
    ctx.update_pages(SnpLaunchContext::kVmsa, kVmsaGpa, vmsa);
  }
  return ctx.digest();
}

// sev, seves and csv: a plain hash over what LAUNCH_UPDATE_DATA / _VMSA received, in order.
Result<Bytes> linear_digest(const LaunchConfig& cfg, const Ovmf& fw, const KernelHashes* hashes) {
  const DigestAlg alg = cfg.mode == Mode::kCsv ? DigestAlg::kSm3 : DigestAlg::kSha256;
  crypto::Hasher h(alg);
  h.update(fw.data);
  if (hashes) h.update(hashes->table);
  if (cfg.mode == Mode::kSevEs) {
    auto eip = require_reset_eip(fw);
    if (!eip) return eip.error();
    for (unsigned i = 0; i < cfg.vcpus; ++i) h.update(build_vmsa_page(i == 0 ? kBspEip : *eip, 0, cfg.vcpu_sig, cfg.vmm));
  }
  return h.finish();
}

}  // namespace

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::kSnp: return "snp";
    case Mode::kSnpOvmfHash: return "snp:ovmf-hash";
    case Mode::kSevEs: return "seves";
    case Mode::kSev: return "sev";
    case Mode::kCsv: return "csv";
    case Mode::kTdx: return "tdx";
  }
  return "?";
}

std::optional<Mode> mode_from_name(std::string_view name) {
  for (auto m : {Mode::kSnp, Mode::kSnpOvmfHash, Mode::kSevEs, Mode::kSev, Mode::kCsv, Mode::kTdx}) {
    if (name == mode_name(m)) return m;
  }
  return std::nullopt;
}

Result<std::uint32_t> resolve_vcpu_signature(const VcpuSpec& spec, Mode mode, VmmType vmm) {
  if (mode == Mode::kSev || mode == Mode::kCsv || mode == Mode::kSnpOvmfHash || mode == Mode::kTdx) return 0u;
  if (spec.family || spec.model || spec.stepping) {
    if (!spec.family || !spec.model || !spec.stepping) {
      return make_error(ErrorCode::kUsage, "--vcpu-family, --vcpu-model and --vcpu-stepping go together", "vcpu-family");
    }
    return cpu_signature(*spec.family, *spec.model, *spec.stepping);
  }
  if (spec.sig) return *spec.sig;
  if (spec.type) {
    if (auto sig = vcpu_type_signature(*spec.type)) return *sig;
    std::string known;
    for (const auto& [name, sig] : known_vcpu_types()) known += (known.empty() ? "" : ", ") + name;
    return make_error(ErrorCode::kUsage, "unknown vCPU type '" + *spec.type + "' (known: " + known + ")", "vcpu-type");
  }
  if (vmm == VmmType::kQemu) {
    return make_error(ErrorCode::kUsage,
                      std::string("missing --vcpu-type, --vcpu-sig or --vcpu-family in guest mode '") + mode_name(mode) + "'",
                      "vcpu-type");
  }
  return 0u;
}

Bytes build_hashes_table(ByteView cmdline_sha256, ByteView initrd_sha256, ByteView kernel_sha256) {
  Bytes t;
  t.reserve(kHashTablePadded);
  t.insert(t.end(), kHashTableHeaderGuid.begin(), kHashTableHeaderGuid.end());
  append_le(t, kHashTableLen, 2);
  auto entry = [&t](const Guid& g, ByteView h) {
    t.insert(t.end(), g.begin(), g.end());
    append_le(t, 16 + 2 + 32, 2);
    t.insert(t.end(), h.begin(), h.end());
  };
  entry(kCmdlineEntryGuid, cmdline_sha256);
  entry(kInitrdEntryGuid, initrd_sha256);
  entry(kKernelEntryGuid, kernel_sha256);
  t.resize(kHashTablePadded, 0);
  return t;
}

void SnpLaunchContext::update(PageType type, std::uint64_t gpa, ByteView contents48) {
  // PAGE_INFO (SNP ABI 56860 table 67): DIGEST_CUR ‖ CONTENTS ‖ le16 LENGTH=0x70 ‖ PAGE_TYPE ‖
  // IMI_PAGE=0 ‖ VMPL3..1 permissions=0 ‖ reserved 0 ‖ le64 GPA.
  Bytes info;
  info.reserve(0x70);
  info.insert(info.end(), ld_.begin(), ld_.end());
  info.insert(info.end(), contents48.begin(), contents48.end());
  append_le(info, 0x70, 2);
  info.push_back(type);
  info.insert(info.end(), 5, 0);
  append_le(info, gpa, 8);
  ld_ = crypto::digest(DigestAlg::kSha384, info);
}

void SnpLaunchContext::update_pages(PageType type, std::uint64_t gpa, ByteView data) {
  for (size_t off = 0; off < data.size(); off += kPageSize) {
    update(type, gpa + off, crypto::digest(DigestAlg::kSha384, data.subspan(off, std::min<size_t>(kPageSize, data.size() - off))));
  }
}

void SnpLaunchContext::update_empty_pages(PageType type, std::uint64_t gpa, std::uint64_t size) {
  static const Bytes kZero48(48, 0);
  for (std::uint64_t off = 0; off < size; off += kPageSize) update(type, gpa + off, kZero48);
}

Result<LaunchDigest> compute_launch_digest(const LaunchConfig& cfg) {
  CCI_TRY(check_kernel_flags(cfg));
  const bool needs_vcpus = cfg.mode == Mode::kSnp || cfg.mode == Mode::kSevEs;
  if (needs_vcpus) CCI_TRY(check_vcpus(cfg));
  if (cfg.snp_ovmf_hash && cfg.mode != Mode::kSnp) {
    return make_error(ErrorCode::kUsage, "--snp-ovmf-hash only applies to --mode snp", "snp-ovmf-hash");
  }
  if (cfg.snp_ovmf_hash && cfg.snp_ovmf_hash->size() != 48) {
    return make_error(ErrorCode::kUsage, "--snp-ovmf-hash must be 48 bytes (96 hex digits)", "snp-ovmf-hash");
  }
  if (cfg.mode == Mode::kTdx && cfg.kernel) {
    return make_error(ErrorCode::kUnsupported,
                      "--mode tdx computes MRTD, which covers the firmware only; TDVF measures a directly booted kernel, initrd and "
                      "command line into RTMR1 and RTMR2, which this version does not compute (leave out --kernel)",
                      "kernel");
  }
  const bool want_sm3 = cfg.mode == Mode::kCsv;
  // Start hashing kernel and initrd while the firmware is read and parsed.
  std::optional<std::future<Result<KernelHashes>>> kernel_job;
  if (cfg.kernel && cfg.mode != Mode::kSnpOvmfHash) {
    kernel_job = std::async(std::launch::async, [&cfg, want_sm3] { return hash_kernel_inputs(cfg, want_sm3); });
  }
  auto fw = load_firmware(cfg.ovmf);
  std::optional<Result<KernelHashes>> hashes;
  if (kernel_job) hashes = kernel_job->get();
  if (!fw) return fw.error();
  if (hashes && !*hashes) return (*hashes).error();
  const KernelHashes* kh = hashes ? &**hashes : nullptr;
  if (kh) CCI_TRY(require_hashes_table(*fw));

  LaunchDigest out;
  out.mode = cfg.mode;
  out.inputs.push_back(firmware_digest(cfg, *fw));
  if (kh) out.inputs.insert(out.inputs.end(), kh->inputs.begin(), kh->inputs.end());
  Result<Bytes> d = Bytes{};
  switch (cfg.mode) {
    case Mode::kSnpOvmfHash:
      CCI_TRY(require_whole_pages(*fw));
      d = snp_firmware_context(*fw).digest();
      break;
    case Mode::kSnp:
      d = snp_digest(cfg, *fw, kh);
      if ((cfg.guest_features & 1) == 0) out.warnings.push_back("guest features 0x" + to_hex_u64(cfg.guest_features) + " lack SNPActive (bit 0)");
      break;
    case Mode::kSev:
    case Mode::kSevEs:
    case Mode::kCsv:
      d = linear_digest(cfg, *fw, kh);
      break;
    case Mode::kTdx: {
      auto sections = parse_tdvf_metadata(*fw);
      if (!sections) return sections.error();
      const MrtdResult m = compute_mrtd(*fw, *sections);
      d = m.mrtd;
      std::string list;
      for (const auto& s : *sections) {
        list += (list.empty() ? "" : ", ") + tdvf_section_type_name(s.type) + " 0x" + to_hex_u64(s.gpa) + "+0x" + to_hex_u64(s.mem_size) +
                ((s.attributes & kTdvfAttrPageAug) ? " (PAGE.AUG, not added)" : (s.attributes & kTdvfAttrMrExtend) ? " (added, extended)" : " (added)");
      }
      out.derivation = "SHA-384 over " + std::to_string(m.pages_added) + " TDH.MEM.PAGE.ADD and " + std::to_string(m.chunks_extended) +
                       " TDH.MR.EXTEND buffers for the TDVF sections in metadata order, each extended page right after it is added "
                       "(upstream QEMU + KVM): " + list;
      out.warnings.push_back(
          "MRTD follows upstream QEMU + KVM's order of TDH.MEM.PAGE.ADD and TDH.MR.EXTEND; other VMMs may add pages in another order, and no "
          "independent reference value was available to compare it with: compare it once with a TD booted from this file");
      break;
    }
  }
  if (!d) return d.error();
  out.digest = std::move(*d);
  out.alg = cfg.mode == Mode::kSev || cfg.mode == Mode::kSevEs ? DigestAlg::kSha256
            : cfg.mode == Mode::kCsv                          ? DigestAlg::kSm3
                                                              : DigestAlg::kSha384;
  if (cfg.mode == Mode::kCsv) {
    out.warnings.push_back(
        "the CSV launch digest (SM3 over firmware and hashes table, as for SEV) follows public code and has not been "
        "confirmed on Hygon hardware; compare it once with a golden boot");
  }
  return out;
}

}  // namespace cci::launch
