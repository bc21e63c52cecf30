// cci-measure image: expected launch digests, flag-compatible with sev-snp-measure.
#include <memory>

#include "base/hex.h"
#include "cli/inputs.h"
#include "commands.h"
#include "launch/launch_digest.h"
#include "manifest/deployment.h"

namespace cci::tools::measure {
namespace {

struct ImageOptions {
  std::string mode;
  std::string ovmf;
  std::optional<std::string> kernel, initrd, append;
  std::optional<unsigned> vcpus;
  std::optional<std::string> vcpu_type, vcpu_sig;
  std::optional<std::uint32_t> vcpu_family, vcpu_model, vcpu_stepping;
  std::string vmm_type = "QEMU";
  std::string guest_features = "0x1";
  std::string output_format = "hex";
  std::optional<std::string> snp_ovmf_hash;
};

Result<launch::LaunchConfig> to_config(const ImageOptions& o) {
  launch::LaunchConfig c;
  auto mode = launch::mode_from_name(o.mode);
  if (!mode) return make_error(ErrorCode::kUsage, "unknown --mode " + o.mode, "mode");
  c.mode = *mode;
  c.ovmf = o.ovmf;
  c.kernel = o.kernel;
  c.initrd = o.initrd;
  c.append = o.append;
  auto vmm = launch::vmm_type_from_name(o.vmm_type);
  if (!vmm) return make_error(ErrorCode::kUsage, "unknown --vmm-type '" + o.vmm_type + "' (QEMU, ec2, gce)", "vmm-type");
  c.vmm = *vmm;
  const bool needs_vcpus = c.mode == launch::Mode::kSnp || c.mode == launch::Mode::kSevEs;
  if (needs_vcpus && !o.vcpus) {
    return make_error(ErrorCode::kUsage, "missing --vcpus N in guest mode '" + o.mode + "'", "vcpus");
  }
  c.vcpus = o.vcpus.value_or(0);
  launch::VcpuSpec spec{o.vcpu_type, std::nullopt, o.vcpu_family, o.vcpu_model, o.vcpu_stepping};
  if (o.vcpu_sig) {
    auto sig = cli::parse_uint(*o.vcpu_sig, "--vcpu-sig", UINT32_MAX);
    if (!sig) return sig.error();
    spec.sig = static_cast<std::uint32_t>(*sig);
  }
  auto sig = launch::resolve_vcpu_signature(spec, c.mode, c.vmm);
  if (!sig) return sig.error();
  c.vcpu_sig = *sig;
  auto features = cli::parse_uint(o.guest_features, "--guest-features");
  if (!features) return features.error();
  c.guest_features = *features;
  if (o.snp_ovmf_hash) {
    auto h = hex_arg(*o.snp_ovmf_hash, "--snp-ovmf-hash", 48);
    if (!h) return make_error(ErrorCode::kUsage, h.error().message, "snp-ovmf-hash");
    c.snp_ovmf_hash = std::move(*h);
  }
  return c;
}

int run_image(const ImageOptions& o, const cli::Context& ctx) {
  const std::string schema = "cci.measure.image.v1";
  auto cfg = to_config(o);
  if (!cfg) return ctx.fail(cfg.error(), schema);
  auto d = launch::compute_launch_digest(*cfg);
  if (!d) return ctx.fail(d.error(), schema);
  for (const auto& w : d->warnings) ctx.warn(w);
  if (ctx.options().json) {
    cli::Json body{{"result", "ok"}};
    body.update(manifest::launch_measurement_json(*cfg, *d));
    ctx.out_json(schema, 0, body);
    return 0;
  }
  ctx.verbose(std::string("calculated ") + launch::mode_name(cfg->mode) + " guest measurement (" +
              crypto::digest_name(d->alg) + ")");
  if (!d->derivation.empty()) ctx.verbose(d->derivation);
  ctx.out(o.output_format == "base64" ? base64_encode(d->digest) : to_hex(d->digest));
  return 0;
}

std::string vcpu_type_list() {
  std::string s;
  for (const auto& [name, sig] : launch::known_vcpu_types()) s += (s.empty() ? "" : ", ") + name;
  return s;
}

}  // namespace

void add_image(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<ImageOptions>();
  auto* sub = app.add_subcommand("image", "Compute the expected launch digest of an SEV, SEV-ES, SEV-SNP or CSV guest, or a TDX guest's MRTD");
  sub->footer(
      "Flags and defaults follow sev-snp-measure, whose results this reproduces bit for bit\n"
      "(replace the command name). The digest is printed as one line.\n"
      "Modes: snp (SHA-384 PAGE_INFO chain), snp:ovmf-hash (firmware part only, reusable with\n"
      "--snp-ovmf-hash), seves and sev (SHA-256), csv (Hygon, SM3; inferred from public code,\n"
      "not yet confirmed on hardware: a warning says so), tdx (Intel TDX MRTD of a TDVF image,\n"
      "SHA-384, as upstream QEMU + KVM add and measure its sections; no independent reference\n"
      "value was available: a warning says so; --verbose and --json say how it was derived).\n"
      "Examples:\n"
      "  cci-measure image --mode snp --vcpus 4 --vcpu-type EPYC-Milan --ovmf OVMF.amdsev.fd \\\n"
      "      --kernel vmlinuz --initrd initrd.img --append 'console=ttyS0 roothash=...'\n"
      "  cci-measure image --mode snp:ovmf-hash --ovmf OVMF.amdsev.fd        # cache the firmware part\n"
      "  cci-measure image --mode snp --vcpus 4 --vcpu-type EPYC-v4 --ovmf OVMF.fd --snp-ovmf-hash HEX\n"
      "  cci-measure image --mode seves --vcpus 2 --vcpu-type EPYC-v4 --ovmf OVMF.fd --json\n"
      "  cci-measure image --mode csv --ovmf OVMF.fd --kernel vmlinuz --append 'console=ttyS0'\n"
      "  cci-measure image --mode tdx --ovmf /usr/share/ovmf/OVMF.fd --json            # MRTD\n"
      "Known vCPU types: " + vcpu_type_list() + ".");
  sub->add_option("--mode", o->mode, "Guest mode")
      ->required()
      ->check(CLI::IsMember({"snp", "snp:ovmf-hash", "seves", "sev", "csv", "tdx"}));
  sub->add_option("--ovmf", o->ovmf, "OVMF firmware file, exactly as passed to -bios")->required();
  sub->add_option("--kernel", o->kernel, "Kernel (bzImage) for measured direct boot");
  sub->add_option("--initrd", o->initrd, "Initrd (with --kernel; none measures like an empty file)");
  sub->add_option("--append", o->append, "Kernel command line (with --kernel)");
  sub->add_option("--vcpus", o->vcpus, "Number of guest vCPUs (snp, seves: 1..512)");
  sub->add_option("--vcpu-type", o->vcpu_type, "QEMU CPU model, e.g. EPYC-v4, EPYC-Milan, EPYC-Genoa, EPYC-Turin");
  sub->add_option("--vcpu-sig", o->vcpu_sig, "Guest vCPU signature (CPUID 1 EAX), e.g. 0xa00f11");
  sub->add_option("--vcpu-family", o->vcpu_family, "Guest vCPU family (with --vcpu-model and --vcpu-stepping)");
  sub->add_option("--vcpu-model", o->vcpu_model, "Guest vCPU model");
  sub->add_option("--vcpu-stepping", o->vcpu_stepping, "Guest vCPU stepping");
  sub->add_option("--vmm-type", o->vmm_type, "VMM that builds the guest: QEMU, ec2 or gce")->capture_default_str();
  sub->add_option("--guest-features", o->guest_features,
                  "SNP guest features (VMSA SEV_FEATURES); 0x1 = SNPActive, 0x21 adds DebugSwap")
      ->capture_default_str();
  sub->add_option("--output-format", o->output_format, "Digest encoding")
      ->check(CLI::IsMember({"hex", "base64"}))
      ->capture_default_str();
  sub->add_option("--snp-ovmf-hash", o->snp_ovmf_hash, "Precomputed firmware hash (96 hex digits, from --mode snp:ovmf-hash)");
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_image(*o, ctx); }; });
}

}  // namespace cci::tools::measure
