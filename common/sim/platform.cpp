#include "sim/platform.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "base/hex.h"
#include "base/text.h"
#include "evidence/sim_layout.h"
#include "sim/csv_sim.h"
#include "sim/nvgpu_sim.h"
#include "sim/snp_sim.h"
#include "sim/tdx_sim.h"

namespace cci::sim {
namespace {

using Json = nlohmann::ordered_json;

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

Result<MadePlatform> init_hygon(const std::string& dir, const PlatformFlags& o) {
  CsvPlatform p;
  p.chip_id = o.chip_id;
  if (!o.host_data.empty()) return make_error(ErrorCode::kUsage, "--host-data exists on SEV-SNP only", "host-data");
  if (!o.mr_config_id.empty()) return make_error(ErrorCode::kUsage, "--mr-config-id exists on TDX only", "mr-config-id");
  if (!o.measurement.empty()) {
    auto m = hex_arg(o.measurement, "--measurement", 32);
    if (!m) return make_error(ErrorCode::kUsage, m.error().message + " (a CSV measure is 64 hex digits)", "measurement");
    p.measure = std::move(*m);
  }
  if (!o.guest_policy.empty()) {
    CCI_ASSIGN(pol, parse_policy(o.guest_policy, 0xFFFFFFFFu));
    p.policy = static_cast<std::uint32_t>(pol);
  }
  if (!o.firmware.empty()) CCI_TRY(parse_firmware(o.firmware, p.api_major, p.api_minor, p.build, 0xFFFFFFFFu));
  CCI_TRY(init_csv_sim(dir, p));
  MadePlatform m;
  m.json = Json{{"result", "ok"}, {"simulated", true}, {"vendor", "hygon"}, {"dir", dir}, {"hrk", evidence::sim_csv_hrk_file(dir)}};
  m.lines = {"simulated Hygon CSV platform in " + dir + "/hygon (SIMULATED: not Hygon hardware)",
             "  public: hrk.cert hsk_cek.cert pek.cert platform.json; private keys: *.key (0600)",
             "  verify its evidence with: cci-verify report EVIDENCE --trust-sim-root " + dir};
  return m;
}

Result<MadePlatform> init_amd(const std::string& dir, const PlatformFlags& o) {
  auto product = snp::product_from_name(o.product);
  if (!product) return make_error(ErrorCode::kUsage, "--product must be Milan, Genoa or Turin", "product");
  SnpPlatform p = default_snp_platform(*product);
  auto set = [](int v, std::uint8_t& slot) {
    if (v >= 0) slot = static_cast<std::uint8_t>(v);
  };
  set(o.bl, p.tcb.bootloader);
  set(o.tee, p.tcb.tee);
  set(o.snp, p.tcb.snp);
  set(o.ucode, p.tcb.microcode);
  if (!o.firmware.empty()) {
    std::uint32_t build = p.fw_build;
    CCI_TRY(parse_firmware(o.firmware, p.fw_major, p.fw_minor, build, 255));
    p.fw_build = static_cast<std::uint8_t>(build);
  }
  if (!o.chip_id.empty()) {
    auto id = hex_arg(o.chip_id, "--chip-id", 64);
    if (!id) return make_error(ErrorCode::kUsage, "AMD: --chip-id is 128 hex digits (64 bytes)", "chip-id");
    if (*product == snp::Product::kTurin && !std::all_of(id->begin() + 8, id->end(), [](std::uint8_t b) { return b == 0; })) {
      return make_error(ErrorCode::kUsage, "a Turin chip ID has 8 bytes: the last 56 must be zero", "chip-id");
    }
    p.chip_id = std::move(*id);
  }
  if (!o.measurement.empty()) {
    auto m = hex_arg(o.measurement, "--measurement", 48);
    if (!m) return make_error(ErrorCode::kUsage, m.error().message + " (an SNP measurement is 96 hex digits)", "measurement");
    p.guest.measurement = std::move(*m);
  }
  if (!o.host_data.empty()) {
    auto h = hex_arg(o.host_data, "--host-data", 32);
    if (!h) return make_error(ErrorCode::kUsage, h.error().message + " (HOST_DATA is 64 hex digits)", "host-data");
    p.guest.host_data = std::move(*h);
  }
  if (!o.guest_policy.empty()) CCI_SET(p.guest.policy, parse_policy(o.guest_policy, ~std::uint64_t{0}));
  if (o.fmc >= 0) {
    if (*product != snp::Product::kTurin) return make_error(ErrorCode::kUsage, "--fmc-spl exists on Turin only", "fmc-spl");
    p.tcb.fmc = static_cast<std::uint8_t>(o.fmc);
  }
  if (!o.mr_config_id.empty()) return make_error(ErrorCode::kUsage, "--mr-config-id exists on TDX only", "mr-config-id");
  CCI_TRY(init_snp_sim(dir, p));
  MadePlatform m;
  m.json = Json{{"result", "ok"}, {"simulated", true}, {"vendor", "amd"}, {"product", o.product}, {"dir", dir},
                {"ark", evidence::sim_snp_ark_file(dir)}, {"cert_chain", evidence::sim_snp_chain_file(dir)}};
  m.lines = {"simulated " + std::string(snp::product_name(*product)) + " SEV-SNP platform in " + dir + "/amd (SIMULATED: not AMD hardware)",
             "  public: ark.pem ask.pem vcek.pem cert_chain.pem crl.der platform.json; private keys: *.key (0600)",
             "  verify its evidence with: cci-verify report EVIDENCE --trust-sim-root " + dir};
  return m;
}

Result<MadePlatform> init_intel(const std::string& dir, const PlatformFlags& o) {
  if (!o.host_data.empty() || !o.guest_policy.empty() || !o.chip_id.empty() || !o.firmware.empty() || o.bl >= 0 || o.tee >= 0 || o.snp >= 0 ||
      o.ucode >= 0 || o.fmc >= 0) {
    return make_error(ErrorCode::kUsage,
                      "--host-data, --guest-policy, --chip-id, --firmware and the SPL flags are SEV-SNP's and CSV's; a simulated TDX platform "
                      "takes --measurement (MRTD) and --mr-config-id",
                      "vendor");
  }
  TdxPlatform p;
  if (!o.measurement.empty()) {
    auto m = hex_arg(o.measurement, "--measurement", 48);
    if (!m) return make_error(ErrorCode::kUsage, m.error().message + " (an MRTD is 96 hex digits)", "measurement");
    p.guest.mr_td = std::move(*m);
  }
  if (!o.mr_config_id.empty()) {
    auto m = hex_arg(o.mr_config_id, "--mr-config-id", 48);
    if (!m) return make_error(ErrorCode::kUsage, m.error().message + " (MRCONFIGID is 96 hex digits)", "mr-config-id");
    p.guest.mr_config_id = std::move(*m);
  }
  CCI_TRY(init_tdx_sim(dir, p));
  MadePlatform m;
  m.json = Json{{"result", "ok"},       {"simulated", true}, {"vendor", "intel"}, {"dir", dir}, {"root", evidence::sim_tdx_root_file(dir)},
                {"collateral", evidence::sim_tdx_collateral_dir(dir)}, {"fmspc", to_hex(p.fmspc)}};
  m.lines = {"simulated Intel TDX platform in " + dir + "/intel (SIMULATED: not Intel hardware), FMSPC " + to_hex(p.fmspc),
             "  public: root.pem pck_ca.pem pck.pem tcb_signing.pem platform.json, collateral/ (TCB Info, QE Identity, CRLs); private keys: *.key (0600)",
             "  verify its evidence with: cci-verify report EVIDENCE --trust-sim-root " + dir};
  return m;
}

Result<MadePlatform> init_nvidia(const std::string& dir, const PlatformFlags& o) {
  if (!o.host_data.empty() || !o.guest_policy.empty() || !o.chip_id.empty() || !o.firmware.empty() || !o.measurement.empty() ||
      !o.mr_config_id.empty() || o.bl >= 0 || o.tee >= 0 || o.snp >= 0 || o.ucode >= 0 || o.fmc >= 0) {
    return make_error(ErrorCode::kUsage,
                      "--host-data, --guest-policy, --chip-id, --firmware, --measurement, --mr-config-id and the SPL flags are the CPU TEEs'; a "
                      "simulated GPU takes --gpu-driver, --gpu-vbios, --gpu-mode and --gpu-opaque",
                      "vendor");
  }
  NvgpuPlatform p;
  if (!o.gpu_driver.empty()) p.driver_version = o.gpu_driver;
  if (!o.gpu_vbios.empty()) p.vbios_version = o.gpu_vbios;
  if (!o.gpu_mode.empty()) {
    const std::string mode = ascii_lower(o.gpu_mode);
    if (mode != "spt" && mode != "mpt" && mode != "ppcie") return make_error(ErrorCode::kUsage, "--gpu-mode must be spt, mpt or ppcie", "gpu-mode");
    p.feature_flag = mode == "spt" ? 0 : mode == "mpt" ? 1 : 2;
  }
  if (!o.gpu_opaque.empty()) {
    const std::string layout = ascii_lower(o.gpu_opaque);
    if (layout != "legacy" && layout != "nvdaod") return make_error(ErrorCode::kUsage, "--gpu-opaque must be legacy or nvdaod", "gpu-opaque");
    p.versioned_opaque = layout == "nvdaod";
  }
  if (auto st = init_nvgpu_sim(dir, p); !st) {
    if (st.error().field == "driver") return make_error(ErrorCode::kUsage, "--gpu-driver: " + st.error().message, "gpu-driver");
    if (st.error().field == "vbios") return make_error(ErrorCode::kUsage, "--gpu-vbios: " + st.error().message, "gpu-vbios");
    return st.error();
  }
  MadePlatform m;
  m.json = Json{{"result", "ok"}, {"simulated", true}, {"vendor", "nvidia"}, {"dir", dir}, {"device_root", evidence::sim_nvgpu_root_file(dir)},
                {"driver_rim", evidence::sim_nvgpu_driver_rim_file(dir)}, {"vbios_rim", evidence::sim_nvgpu_vbios_rim_file(dir)},
                {"driver_version", p.driver_version}, {"vbios_version", ascii_lower(p.vbios_version)}};
  m.lines = {"simulated NVIDIA GPU (driver " + p.driver_version + ", VBIOS " + ascii_lower(p.vbios_version) + ") in " + dir + "/nvidia (SIMULATED: not NVIDIA hardware)",
             "  public: device_root.pem chain.pem rim_root.pem driver_rim.xml vbios_rim.xml platform.json; private keys: *.key (0600)",
             "  evidence: cci-run sim gpu-evidence " + dir + " --nonce HEX -o gpu.json",
             "  verify it with: cci-verify report gpu.json --nonce HEX --trust-sim-root " + dir + " --insecure-no-crl"};
  return m;
}

}  // namespace

std::string init_progress(const PlatformFlags& f) {
  return f.vendor == "amd" ? "generating the simulated ARK and ASK (RSA-4096) and VCEK (P-384)..." : "";
}

Result<MadePlatform> init_platform(const std::string& dir, const PlatformFlags& f) {
  if (f.vendor != "nvidia" && (!f.gpu_driver.empty() || !f.gpu_vbios.empty() || !f.gpu_mode.empty() || !f.gpu_opaque.empty())) {
    return make_error(ErrorCode::kUsage, "--gpu-driver, --gpu-vbios, --gpu-mode and --gpu-opaque are for a simulated GPU (--vendor nvidia)", "vendor");
  }
  if (f.vendor == "nvidia") return init_nvidia(dir, f);
  if (f.vendor == "amd") return init_amd(dir, f);
  if (f.vendor == "hygon") return init_hygon(dir, f);
  if (f.vendor == "intel") return init_intel(dir, f);
  return make_error(ErrorCode::kUsage, "--vendor must be amd, hygon, intel or nvidia", "vendor");
}

}  // namespace cci::sim
