// cci-run sim init DIR --vendor amd: create a simulated TEE platform (keys stay in DIR, mode
// 0600; the public chain is exported for verifiers that opt in with --trust-sim-root DIR).
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <memory>

#include "base/hex.h"
#include "commands.h"
#include "sim/csv_sim.h"
#include "sim/snp_sim.h"

namespace cci::tools::run {
namespace {

struct SimOptions {
  std::string dir;
  std::string vendor = "amd";
  std::string product = "Milan";
  int bl = -1, tee = -1, snp = -1, ucode = -1, fmc = -1;
  std::string chip_id;
  std::string firmware;  // MAJOR.MINOR[.BUILD]
  std::string measurement, host_data, guest_policy;  // the guest the platform plays
};

// "0x30000" or "196608": a guest policy of at most `max`.
Result<std::uint64_t> parse_policy(const std::string& text, std::uint64_t max) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(text.c_str(), &end, 0);
  if (text.empty() || text[0] == '-' || *end != '\0' || errno != 0 || v > max) {
    return make_error(ErrorCode::kUsage, "--guest-policy must be a number (0x... for hex) of at most 0x" + to_hex_u64(max) + ", not '" + text + "'",
                      "guest-policy");
  }
  return static_cast<std::uint64_t>(v);
}

// "1.55.21" (SNP: major.minor.build) or "1.3" / "1.3.2337" (Hygon: API major.minor, build).
Status parse_firmware(const std::string& text, std::uint8_t& major, std::uint8_t& minor, std::uint32_t& build, std::uint32_t max_build) {
  unsigned a = 0, b = 0, c = 0;
  char tail = 0;
  const int n = std::sscanf(text.c_str(), "%u.%u.%u%c", &a, &b, &c, &tail);
  if (n < 2 || n > 3 || a > 255 || b > 255 || c > max_build) {
    return make_error(ErrorCode::kUsage, "--firmware must be MAJOR.MINOR[.BUILD] (major and minor 0-255, build 0-" + std::to_string(max_build) +
                                             "), not '" + text + "'", "firmware");
  }
  major = static_cast<std::uint8_t>(a);
  minor = static_cast<std::uint8_t>(b);
  if (n == 3) build = c;
  return {};
}

int run_sim_init_hygon(const SimOptions& o, const cli::Context& ctx) {
  const std::string schema = "cci.run.sim.v1";
  sim::CsvPlatform p;
  p.chip_id = o.chip_id;
  if (!o.host_data.empty()) return ctx.fail(make_error(ErrorCode::kUsage, "--host-data exists on SEV-SNP only", "host-data"), schema);
  if (!o.measurement.empty()) {
    auto m = from_hex(o.measurement, "--measurement", 32);
    if (!m) return ctx.fail(make_error(ErrorCode::kUsage, m.error().message + " (a CSV measure is 64 hex digits)", "measurement"), schema);
    p.measure = std::move(*m);
  }
  if (!o.guest_policy.empty()) {
    auto pol = parse_policy(o.guest_policy, 0xFFFFFFFFu);
    if (!pol) return ctx.fail(pol.error(), schema);
    p.policy = static_cast<std::uint32_t>(*pol);
  }
  if (!o.firmware.empty()) {
    if (auto st = parse_firmware(o.firmware, p.api_major, p.api_minor, p.build, 0xFFFFFFFFu); !st) return ctx.fail(st.error(), schema);
  }
  auto st = sim::init_csv_sim(o.dir, p);
  if (!st) return ctx.fail(st.error(), schema);
  if (ctx.options().json) {
    ctx.out_json(schema, 0, cli::Json{{"result", "ok"}, {"simulated", true}, {"vendor", "hygon"}, {"dir", o.dir}, {"hrk", sim::csv_sim_hrk_file(o.dir)}});
    return 0;
  }
  ctx.out("simulated Hygon CSV platform in " + o.dir + "/hygon (SIMULATED: not Hygon hardware)");
  ctx.out("  public: hrk.cert hsk_cek.cert pek.cert platform.json; private keys: *.key (0600)");
  ctx.out("  verify its evidence with: cci-verify report EVIDENCE --trust-sim-root " + o.dir);
  return 0;
}

int run_sim_init(const SimOptions& o, const cli::Context& ctx) {
  const std::string schema = "cci.run.sim.v1";
  if (o.vendor == "hygon") return run_sim_init_hygon(o, ctx);
  if (o.vendor != "amd") return ctx.fail(make_error(ErrorCode::kUsage, "--vendor must be amd or hygon"), schema);
  auto product = snp::product_from_name(o.product);
  if (!product) return ctx.fail(make_error(ErrorCode::kUsage, "--product must be Milan, Genoa or Turin"), schema);
  sim::SnpPlatform p = sim::default_snp_platform(*product);
  auto set = [](int v, std::uint8_t& slot) {
    if (v >= 0) slot = static_cast<std::uint8_t>(v);
  };
  set(o.bl, p.tcb.bootloader);
  set(o.tee, p.tcb.tee);
  set(o.snp, p.tcb.snp);
  set(o.ucode, p.tcb.microcode);
  if (!o.firmware.empty()) {
    std::uint32_t build = p.fw_build;
    if (auto st = parse_firmware(o.firmware, p.fw_major, p.fw_minor, build, 255); !st) return ctx.fail(st.error(), schema);
    p.fw_build = static_cast<std::uint8_t>(build);
  }
  if (!o.chip_id.empty()) {
    auto id = from_hex(o.chip_id, "--chip-id", 64);
    if (!id) return ctx.fail(make_error(ErrorCode::kUsage, "AMD: --chip-id is 128 hex digits (64 bytes)", "chip-id"), schema);
    if (*product == snp::Product::kTurin && !std::all_of(id->begin() + 8, id->end(), [](std::uint8_t b) { return b == 0; })) {
      return ctx.fail(make_error(ErrorCode::kUsage, "a Turin chip ID has 8 bytes: the last 56 must be zero", "chip-id"), schema);
    }
    p.chip_id = std::move(*id);
  }
  if (!o.measurement.empty()) {
    auto m = from_hex(o.measurement, "--measurement", 48);
    if (!m) return ctx.fail(make_error(ErrorCode::kUsage, m.error().message + " (an SNP measurement is 96 hex digits)", "measurement"), schema);
    p.guest.measurement = std::move(*m);
  }
  if (!o.host_data.empty()) {
    auto h = from_hex(o.host_data, "--host-data", 32);
    if (!h) return ctx.fail(make_error(ErrorCode::kUsage, h.error().message + " (HOST_DATA is 64 hex digits)", "host-data"), schema);
    p.guest.host_data = std::move(*h);
  }
  if (!o.guest_policy.empty()) {
    auto pol = parse_policy(o.guest_policy, ~std::uint64_t{0});
    if (!pol) return ctx.fail(pol.error(), schema);
    p.guest.policy = *pol;
  }
  if (o.fmc >= 0) {
    if (*product != snp::Product::kTurin) return ctx.fail(make_error(ErrorCode::kUsage, "--fmc-spl exists on Turin only"), schema);
    p.tcb.fmc = static_cast<std::uint8_t>(o.fmc);
  }
  ctx.info("generating the simulated ARK and ASK (RSA-4096) and VCEK (P-384)...");
  auto st = sim::init_snp_sim(o.dir, p);
  if (!st) return ctx.fail(st.error(), schema);
  if (ctx.options().json) {
    ctx.out_json(schema, 0,
                 cli::Json{{"result", "ok"}, {"simulated", true}, {"vendor", "amd"}, {"product", o.product}, {"dir", o.dir},
                           {"ark", sim::snp_sim_ark_file(o.dir)}, {"cert_chain", sim::snp_sim_chain_file(o.dir)}});
    return 0;
  }
  ctx.out("simulated " + std::string(snp::product_name(*product)) + " SEV-SNP platform in " + o.dir + "/amd (SIMULATED: not AMD hardware)");
  ctx.out("  public: ark.pem ask.pem vcek.pem cert_chain.pem crl.der platform.json; private keys: *.key (0600)");
  ctx.out("  verify its evidence with: cci-verify report EVIDENCE --trust-sim-root " + o.dir);
  return 0;
}

}  // namespace

void add_sim(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<SimOptions>();
  auto* sim = app.add_subcommand("sim", "A simulated TEE platform for machines without SEV-SNP or CSV (testing only)");
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
      "  cci-run sim init ./sim --vendor amd --measurement \"$(cci-verify manifest cci-manifest.json --key release.pub \\\n"
      "      --json | jq -r '.predicate.images[0].launch_measurements[0].measurement')\"\n"
      "  cci-run sim init ./sim-turin --vendor amd --product Turin --snp-spl 3\n"
      "  cci-run sim init ./sim --vendor hygon           # HRK/HSK/CEK/PEK (SM2) beside amd/ in the same DIR");
  init->add_option("DIR", o->dir, "New directory for the simulated platform")->required();
  init->add_option("--vendor", o->vendor, "amd (SEV-SNP) or hygon (CSV)")->capture_default_str();
  init->add_option("--chip-id", o->chip_id,
                   "The simulated chip ID. AMD: 128 hex digits (default random; Turin: 8 bytes then zeros). Hygon: letters and digits "
                   "(default SIM + random)");
  init->add_option("--firmware", o->firmware,
                   "Firmware version. AMD: MAJOR.MINOR.BUILD (default 1.55.21). Hygon: API MAJOR.MINOR[.BUILD] (default 1.3.2337)");
  init->add_option("--product", o->product, "Milan, Genoa or Turin")->capture_default_str();
  init->add_option("--measurement", o->measurement, "The guest's launch measurement (SNP: 96 hex digits, CSV: 64; default zeros)");
  init->add_option("--host-data", o->host_data, "SNP: the guest's HOST_DATA (64 hex digits; default zeros)");
  init->add_option("--guest-policy", o->guest_policy, "The guest policy (SNP: 64-bit, default 0x30000; CSV: 32-bit, default 0x45)");
  init->add_option("--bl-spl", o->bl, "TCB: boot loader SPL")->check(CLI::Range(0, 255));
  init->add_option("--tee-spl", o->tee, "TCB: TEE SPL")->check(CLI::Range(0, 255));
  init->add_option("--snp-spl", o->snp, "TCB: SNP firmware SPL")->check(CLI::Range(0, 255));
  init->add_option("--ucode-spl", o->ucode, "TCB: microcode SPL")->check(CLI::Range(0, 255));
  init->add_option("--fmc-spl", o->fmc, "TCB: FMC SPL (Turin)")->check(CLI::Range(0, 255));
  init->callback([o, &ctx, &action] { action = [o, &ctx] { return run_sim_init(*o, ctx); }; });
}

}  // namespace cci::tools::run
