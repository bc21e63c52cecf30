// cci-run sim init DIR --vendor amd|hygon|intel: create a simulated TEE platform (keys stay in DIR, mode
// 0600; the public chain is exported for verifiers that opt in with --trust-sim-root DIR). The
// simulators (common/sim) interpret the flags.
#include <memory>

#include "commands.h"
#include "sim/platform.h"

namespace cci::tools::run {
namespace {

struct SimOptions {
  std::string dir;
  sim::PlatformFlags flags;
};

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
  auto* sim = app.add_subcommand("sim", "A simulated TEE platform for machines without SEV-SNP, CSV or TDX (testing only)");
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
      "(53494d000000) to DIR/intel/collateral, current for a year; its quotes carry --measurement as MRTD.");
  init->add_option("DIR", o->dir, "New directory for the simulated platform")->required();
  init->add_option("--vendor", o->flags.vendor, "amd (SEV-SNP), hygon (CSV) or intel (TDX)")->capture_default_str()->check(CLI::IsMember({"amd", "hygon", "intel"}));
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
}

}  // namespace cci::tools::run
