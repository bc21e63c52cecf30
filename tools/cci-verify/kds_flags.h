// The key-server and cache flags cci-verify fetch, report, cert and remote share (AMD, Hygon and
// Intel's PCS).
#pragma once

#include <optional>
#include <string>

#include "cli/tool.h"
#include "collateral/amd_kds.h"
#include "collateral/hygon_kds.h"
#include "collateral/intel_pcs.h"
#include "collateral/nvidia_ocsp.h"
#include "collateral/nvidia_rim.h"

namespace cci::tools::verify {

struct KdsFlags {
  std::string kds_url;    // empty: $CCI_KDS_URL or AMD's
  std::string cache_dir;  // empty: $CCI_CACHE_DIR, $XDG_CACHE_HOME/cci or ~/.cache/cci
  int timeout_s = 30;
  int attempts = 4;
  bool insecure_http = false;  // allow an http:// key server URL
  std::string pcs_url;         // Intel PCS base URL; empty: $CCI_PCS_URL or Intel's
  std::string pccs_url;        // a PCCS instead (the root CA CRL from it too)
  std::string tdx_update = "standard";  // standard | early
  std::string rim_url;         // NVIDIA's RIM service; empty: $CCI_NVIDIA_RIM_URL, else NVIDIA's
  std::string ocsp_url;        // NVIDIA GPUs: one OCSP responder for every certificate; empty: $CCI_NVIDIA_OCSP_URL, else each certificate's AIA
};
void add_kds_flags(CLI::App* sub, KdsFlags& f);
collateral::SnpFetchOptions fetch_options(const KdsFlags& f, const cli::Context& ctx);
collateral::SnpCache cache_of(const KdsFlags& f);
// The same flags for the Hygon KDS (default URL $CCI_HYGON_KDS_URL or https://cert.hygon.cn).
collateral::HygonFetchOptions hygon_fetch_options(const KdsFlags& f, const cli::Context& ctx);
collateral::HygonCache hygon_cache_of(const KdsFlags& f);
// Intel's PCS (or a PCCS) for TDX collateral.
collateral::PcsFetchOptions pcs_fetch_options(const KdsFlags& f, const cli::Context& ctx);
// NVIDIA GPUs: where OCSP answers are asked for.
collateral::OcspFetchOptions ocsp_fetch_options(const KdsFlags& f, const cli::Context& ctx);
collateral::RimFetchOptions rim_fetch_options(const KdsFlags& f, const cli::Context& ctx);

}  // namespace cci::tools::verify
