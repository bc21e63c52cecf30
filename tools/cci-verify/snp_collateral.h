// What cci-verify fetch and cci-verify report share about vendor collateral: the KDS and
// cache flags (AMD and Hygon), and the collateral key of an SNP report.
#pragma once

#include <optional>
#include <string>

#include "cli/tool.h"
#include "collateral/amd_kds.h"
#include "collateral/hygon_kds.h"
#include "snp/report.h"

namespace cci::tools::verify {

struct KdsFlags {
  std::string kds_url;    // empty: $CCI_KDS_URL or AMD's
  std::string cache_dir;  // empty: $CCI_CACHE_DIR, $XDG_CACHE_HOME/cci or ~/.cache/cci
  int timeout_s = 30;
  int attempts = 4;
  bool insecure_http = false;  // allow an http:// key server URL
};
void add_kds_flags(CLI::App* sub, KdsFlags& f);
collateral::SnpFetchOptions fetch_options(const KdsFlags& f, const cli::Context& ctx);
collateral::SnpCache cache_of(const KdsFlags& f);
// The same flags for the Hygon KDS (default URL $CCI_HYGON_KDS_URL or https://cert.hygon.cn).
collateral::HygonFetchOptions hygon_fetch_options(const KdsFlags& f, const cli::Context& ctx);
collateral::HygonCache hygon_cache_of(const KdsFlags& f);

// The report's product (signed CPUID for v3+, else `given`) and collateral key.
Result<collateral::SnpCollateralKey> collateral_key(const snp::Report& r, std::optional<snp::Product> given);

}  // namespace cci::tools::verify
