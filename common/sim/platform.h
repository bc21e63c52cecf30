// cci-run sim init: one entry point for every simulated vendor. The flags arrive as text and
// are interpreted here, where each simulator's formats are known; the result says what was made
// for the tool to print.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/result.h"

namespace cci::sim {

struct PlatformFlags {
  std::string vendor = "amd";   // amd (SEV-SNP) | hygon (CSV) | intel (TDX) | nvidia (a GPU)
  std::string product = "Milan";  // amd: Milan, Genoa, Turin
  int bl = -1, tee = -1, snp = -1, ucode = -1, fmc = -1;  // amd: TCB SPLs (-1: the product's default)
  std::string chip_id;          // amd: 128 hex digits; hygon: letters and digits
  std::string firmware;         // MAJOR.MINOR[.BUILD]
  std::string measurement, host_data, guest_policy;  // the guest the platform plays
  std::string mr_config_id;     // intel: the TD's MRCONFIGID (96 hex digits)
  std::string gpu_driver, gpu_vbios, gpu_mode;  // nvidia: driver and VBIOS versions, spt | mpt | ppcie
  std::string gpu_opaque;       // nvidia: legacy | nvdaod, the reports' opaque data layout
};

struct MadePlatform {
  nlohmann::ordered_json json;      // for --json: vendor, product, dir, public files
  std::vector<std::string> lines;   // for humans
  std::string progress;             // said before the (slow) key generation, may be empty
};

// Checks the flags for the vendor, then creates DIR/<vendor>; usage errors name the flag.
Result<MadePlatform> init_platform(const std::string& dir, const PlatformFlags& f);
// The note to print before init_platform runs (key generation can take seconds), or "".
std::string init_progress(const PlatformFlags& f);

}  // namespace cci::sim
