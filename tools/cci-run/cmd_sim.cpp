// cci-run sim init DIR --vendor amd|hygon|intel: create a simulated TEE platform (keys stay in DIR, mode
// 0600; the public chain is exported for verifiers that opt in with --trust-sim-root DIR). The
// simulators (common/sim) interpret the flags.
#include <memory>

#include "commands.h"
#include "base/hex.h"
#include "sim/nvgpu_sim.h"
#include "sim/platform.h"

namespace cci::tools::run {
namespace {

struct SimOptions {
  std::string dir;
  sim::PlatformFlags flags;
};

struct GpuEvidenceOptions {
  std::string dir, nonce, out;
  unsigned gpus = 1;
  int flip = -1;
};

int run_sim_gpu_evidence(const GpuEvidenceOptions& o, const cli::Context& ctx) {
  const std::string schema = "cci.run.sim.v1";
  if (o.out == "-" && ctx.options().json) {
    return ctx.fail(make_error(ErrorCode::kUsage, "--json and --output - would both write to standard output: name a file", "out"), schema);
  }
  auto nonce = hex_arg(o.nonce, "--nonce", 32);
  if (!nonce) return ctx.fail(make_error(ErrorCode::kUsage, "--nonce: a GPU's nonce is 32 bytes (64 hex digits)", "nonce"), schema);
  auto ev = sim::nvgpu_sim_evidence(o.dir, *nonce, o.gpus, o.flip);
  if (!ev) return ctx.fail(ev.error(), schema);
  ctx.warn("simulated NVIDIA GPU in " + o.dir + ": this evidence proves nothing about hardware");
  if (auto st = ctx.write_output(o.out, *ev); !st) return ctx.fail(st.error(), schema);
  if (ctx.options().json) {
    ctx.out_json(schema, 0, cli::Json{{"result", "ok"}, {"simulated", true}, {"vendor", "nvidia"}, {"gpus", o.gpus}, {"out", o.out}});
  } else if (o.out != "-") {
    ctx.out("wrote SIMULATED NVIDIA GPU evidence (" + std::to_string(o.gpus) + (o.gpus == 1 ? " GPU" : " GPUs") + ") to " + o.out);
  }
  return 0;
}

int run_sim_init(const SimOptions& o, const cli::Context& ctx) {
  const std::string schema = "cci.run.sim.v1";
  if (const auto note = sim::init_progress(o.flags); !note.empty()) ctx.info(note);
  auto made = sim::init_platform(o.dir, o.flags);
  if (!made) return ctx.fail(made.error(), schema);
  if (ctx.options().json) {
    ctx.out_json(schema, 0, made->json);
    return 0;
  }
  for (const auto& line : made->lines) ctx.out(line);
  return 0;
}

}  // namespace

void add_sim(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<SimOptions>();
  auto* sim = app.add_subcommand("sim", "A simulated TEE platform for machines without SEV-SNP, CSV, TDX or a confidential GPU (testing only)");
  sim->require_subcommand(1);
  auto* init = sim->add_subcommand("init", "Create a simulated platform: vendor-shaped certificate chain and keys in DIR");
  init->footer(
      "The simulated ARK/ASK/VCEK have AMD's shapes (RSA-4096 RSASSA-PSS, P-384 VCEK with TCB and hwID\n"
      "extensions) and subjects that say SIMULATED. Verifiers never trust them unless told by name\n"
      "(cci-verify report --trust-sim-root DIR). DIR must not exist yet.\n"
      "The platform plays one guest: its reports carry --measurement, --host-data and --guest-policy (default\n"
      "zeros and 0x30000 / 0x45), so a simulator can stand for the VM a deployment manifest lists:\n"
      "Examples:\n"
      "  cci-run sim init ./sim --vendor amd\n"
      "  cci-run sim init ./sim --vendor amd --measurement \"$(cci-verify manifest cci-manifest.json --release-key release.pub \\\n"
      "      --json | jq -r '.predicate.images[0].launch_measurements[0].measurement')\"\n"
      "  cci-run sim init ./sim-turin --vendor amd --product Turin --snp-spl 3\n"
      "  cci-run sim init ./sim --vendor hygon           # HRK/HSK/CEK/PEK (SM2) beside amd/ in the same DIR\n"
      "  cci-run sim init ./sim --vendor intel           # Intel's PCK chain and PCS collateral in miniature (P-256)\n"
      "A simulated TDX platform has Intel's PKI shape (root CA, PCK Platform CA, PCK certificate with the SGX\n"
      "extensions, TCB Signing certificate) and writes the collateral Intel's PCS would serve for its FMSPC\n"
      "(53494d000000) to DIR/intel/collateral, current for a year; its quotes carry --measurement as MRTD.\n"
      "  cci-run sim init ./sim --vendor nvidia          # an NVIDIA GPU: P-384 device chain, signed driver and VBIOS RIMs\n"
      "A simulated GPU's evidence comes from cci-run sim gpu-evidence, in the attestation SDK's format.");
  init->add_option("DIR", o->dir, "New directory for the simulated platform")->required();
  init->add_option("--vendor", o->flags.vendor, "amd (SEV-SNP), hygon (CSV), intel (TDX) or nvidia (a confidential GPU)")
      ->capture_default_str()
      ->check(CLI::IsMember({"amd", "hygon", "intel", "nvidia"}));
  init->add_option("--gpu-driver", o->flags.gpu_driver, "NVIDIA: the driver version its reports and driver RIM carry (default 550.90.07)");
  init->add_option("--gpu-vbios", o->flags.gpu_vbios, "NVIDIA: the VBIOS version (default 96.00.9f.00.01)");
  init->add_option("--gpu-mode", o->flags.gpu_mode, "NVIDIA: spt (default), mpt or ppcie, in the reports' FEATURE_FLAG");
  init->add_option("--gpu-opaque", o->flags.gpu_opaque,
                   "NVIDIA: the reports' opaque data layout: legacy (default; drivers before CUDA 13.5) or nvdaod (NVIDIA Opaque Data "
                   "Format 2.0: an NVDAOD header and typed entries, as newer drivers write it)");
  init->add_option("--chip-id", o->flags.chip_id,
                   "The simulated chip ID. AMD: 128 hex digits (default random; Turin: 8 bytes then zeros). Hygon: letters and digits "
                   "(default SIM + random)");
  init->add_option("--firmware", o->flags.firmware,
                   "Firmware version. AMD: MAJOR.MINOR.BUILD (default 1.55.21). Hygon: API MAJOR.MINOR[.BUILD] (default 1.3.2337)");
  init->add_option("--product", o->flags.product, "Milan, Genoa or Turin")->capture_default_str();
  init->add_option("--measurement", o->flags.measurement, "The guest's launch measurement (SNP and TDX MRTD: 96 hex digits, CSV: 64; default zeros)");
  init->add_option("--mr-config-id", o->flags.mr_config_id, "TDX: the TD's MRCONFIGID (96 hex digits; default zeros)");
  init->add_option("--host-data", o->flags.host_data, "SNP: the guest's HOST_DATA (64 hex digits; default zeros)");
  init->add_option("--guest-policy", o->flags.guest_policy, "The guest policy (SNP: 64-bit, default 0x30000; CSV: 32-bit, default 0x45)");
  init->add_option("--bl-spl", o->flags.bl, "TCB: boot loader SPL")->check(CLI::Range(0, 255));
  init->add_option("--tee-spl", o->flags.tee, "TCB: TEE SPL")->check(CLI::Range(0, 255));
  init->add_option("--snp-spl", o->flags.snp, "TCB: SNP firmware SPL")->check(CLI::Range(0, 255));
  init->add_option("--ucode-spl", o->flags.ucode, "TCB: microcode SPL")->check(CLI::Range(0, 255));
  init->add_option("--fmc-spl", o->flags.fmc, "TCB: FMC SPL (Turin)")->check(CLI::Range(0, 255));
  init->callback([o, &ctx, &action] { action = [o, &ctx] { return run_sim_init(*o, ctx); }; });

  auto g = std::make_shared<GpuEvidenceOptions>();
  auto* gpu = sim->add_subcommand("gpu-evidence", "Evidence from a simulated NVIDIA GPU (cci-run sim init DIR --vendor nvidia), as the attestation SDK writes it");
  gpu->footer(
      "Each GPU's report is an SPDM 1.1 GET_MEASUREMENTS request with --nonce and the MEASUREMENTS response, signed\n"
      "by the simulated attestation key (P-384); the file is the SDK's JSON list that cci-verify report reads.\n"
      "Examples:\n"
      "  cci-run sim gpu-evidence ./sim --nonce $NONCE -o gpu.json\n"
      "  cci-verify report gpu.json --nonce $NONCE --trust-sim-root ./sim --insecure-no-crl");
  gpu->add_option("DIR", g->dir, "The simulated platform directory")->required();
  gpu->add_option("--nonce", g->nonce, "The verifier's nonce: 32 bytes (64 hex digits)")->required();
  gpu->add_option("--gpus", g->gpus, "How many GPUs the evidence lists")->capture_default_str()->check(CLI::Range(1, 64));
  gpu->add_option("--flip-measurement", g->flip, "Report measurement INDEX (0-63) changed, for negative tests")->check(CLI::Range(0, 63));
  cli::add_alias(gpu, gpu->add_option("-o,--output", g->out, "Evidence file to write (- for standard output)")->required(), "--out", g->out);
  gpu->callback([g, &ctx, &action] { action = [g, &ctx] { return run_sim_gpu_evidence(*g, ctx); }; });
}

}  // namespace cci::tools::run
