// The collateral source of the command-line tools: the on-disk cache (common/collateral), filled
// first from the vendors' key servers unless offline. Every cache entry is re-checked when read
// (a bad one is dropped); the verifier checks everything again against the pinned roots.
#pragma once

#include <ctime>
#include <optional>

#include "appraise/appraise.h"
#include "collateral/amd_kds.h"
#include "collateral/hygon_kds.h"
#include "collateral/intel_pcs.h"
#include "collateral/nvidia_ocsp.h"
#include "collateral/nvidia_rim.h"
#include "verify/nvgpu_rim.h"

namespace cci::appraise {

struct CacheCollateralOptions {
  std::string cache_dir;  // empty: collateral::default_cache_dir()
  bool offline = false;   // never contact a key server
  collateral::SnpFetchOptions amd;
  collateral::HygonFetchOptions hygon;
  collateral::PcsFetchOptions intel;
  bool tdx_early = false;  // Intel's early TCB update collateral
  collateral::OcspFetchOptions nvidia;  // NVIDIA GPUs: where OCSP answers are asked for
  collateral::RimFetchOptions nvidia_rims;  // NVIDIA GPUs: the RIM service
};

// What a downloaded NVIDIA RIM must pass before it is cached: signed, chained to the pinned RIM
// root (or `root`) at `at` (the appraisal checks it again at its own time).
Status nvgpu_rim_check(ByteView xml, std::time_t at, const crypto::Certificate* root = nullptr);
// A RIM verification as a Status: its first failed check, or success.
Status rim_status(const verify::RimVerification& v);

class CacheCollateral final : public CollateralSource {
 public:
  explicit CacheCollateral(CacheCollateralOptions o);
  std::optional<crypto::Certificate> snp_vek(const SnpKey& k, const Notes& n) override;
  std::vector<crypto::Certificate> snp_chain(const SnpKey& k, const Notes& n) override;
  std::optional<crypto::Crl> snp_crl(const SnpKey& k, const Notes& n) override;
  std::optional<Bytes> csv_hrk(const Notes& n) override;
  std::optional<std::pair<Bytes, std::string>> csv_hsk_cek(const std::string& chip_id, const Notes& n) override;
  std::optional<verify::TdxCollateral> tdx_collateral(ByteView quote, const Notes& n) override;
  std::vector<Bytes> nvgpu_ocsp(const crypto::Certificate& cert, const crypto::Certificate& issuer, const Notes& n) override;
  std::optional<Bytes> nvgpu_rim(const std::string& id, const Notes& n) override;

 private:
  void fetch_snp(const SnpKey& k, collateral::SnpItem item, const Notes& n, bool refresh = false);
  void fetch_hygon(const std::string& chip_id, collateral::HygonItem item, const Notes& n);

  CacheCollateralOptions o_;
  collateral::SnpCache snp_;
  collateral::HygonCache hygon_;
  collateral::TdxCache intel_;
  collateral::OcspCache ocsp_;
  collateral::RimCache rims_;
};

}  // namespace cci::appraise
