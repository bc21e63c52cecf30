// AMD Key Distribution Service (KDS) collateral for SEV-SNP: URLs, an on-disk cache keyed by
// product, chip and TCB, and a fetcher that checks what it downloads before caching it
// (AMD VCEK certificate and KDS interface specification, pub. 57230, chapter 4).
//
//   GET {base}/vcek/v1/{Milan|Genoa|Turin}/{hwid}?blSPL=B&teeSPL=T&snpSPL=S&ucodeSPL=U  DER VCEK
//       Milan/Genoa: hwid = 128 hex digits of CHIP_ID; Turin: 16 hex digits (CHIP_ID[0:8])
//       and &fmcSPL=F is required.
//   GET {base}/{vcek|vlek}/v1/{P}/cert_chain   PEM: ASK (or ASVK), then ARK
//   GET {base}/{vcek|vlek}/v1/{P}/crl          DER CRL signed by the ARK
// VLEKs are served only to cloud providers with credentials: cci never fetches them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "collateral/http.h"
#include "crypto/x509.h"
#include "snp/report.h"

namespace cci::collateral {

inline constexpr const char* kAmdKdsUrl = "https://kdsintf.amd.com";

// What identifies a report's collateral.
struct SnpCollateralKey {
  snp::Product product = snp::Product::kMilan;
  bool vlek = false;
  Bytes chip_id;  // 64 bytes as reported
  snp::Tcb tcb;   // REPORTED_TCB in the product's layout
};
SnpCollateralKey snp_collateral_key(const snp::Report& r, snp::Product p);

// KDS paths (append to the base URL).
std::string kds_vcek_path(const SnpCollateralKey& k);
std::string kds_cert_chain_path(snp::Product p, bool vlek);
std::string kds_crl_path(snp::Product p, bool vlek);

// The cache: {dir}/amd/{P}/vcek/{hwid}/{tcb}.der, {dir}/amd/{P}/{vcek|vlek}_cert_chain.pem,
// {dir}/amd/{P}/{vcek|vlek}_crl.der. Entries are written atomically and re-verified on use.
class SnpCache {
 public:
  explicit SnpCache(std::string dir) : dir_(std::move(dir)) {}
  const std::string& dir() const { return dir_; }
  std::string vcek_file(const SnpCollateralKey& k) const;
  std::string chain_file(snp::Product p, bool vlek) const;
  std::string crl_file(snp::Product p, bool vlek) const;

  // Each returns nullopt when the entry is absent, an error when it exists but is unusable. An
  // entry is re-checked on every read (VCEK: chip, TCB and the ASK's signature; chain: the pinned
  // ARK; CRL: the ARK's signature); one that fails is removed, so it is fetched again, not kept.
  Result<std::optional<crypto::Certificate>> vcek(const SnpCollateralKey& k) const;
  Result<std::optional<std::vector<crypto::Certificate>>> chain(snp::Product p, bool vlek) const;
  Result<std::optional<crypto::Crl>> crl(snp::Product p, bool vlek) const;

 private:
  std::string dir_;
};

// The default cache directory: $CCI_CACHE_DIR, else $XDG_CACHE_HOME/cci, else ~/.cache/cci.
std::string default_cache_dir();
// The KDS base URL: $CCI_KDS_URL, else https://kdsintf.amd.com.
std::string default_kds_url();

enum class SnpItem { kVcek, kChain, kCrl };
const char* snp_item_name(SnpItem i);  // "vcek", "cert_chain", "crl"

struct SnpFetchOptions {
  std::string kds_url = kAmdKdsUrl;
  HttpOptions http;
  bool refresh = false;  // download even when the cache has the entry
};

struct SnpFetchResult {
  SnpItem item;
  std::string url;
  std::string file;       // cache file
  bool downloaded = false;  // false: already cached
  std::optional<Error> error;
  Bytes data;  // without error: the bytes that passed the checks (downloaded, or the cache entry)
};

// Gets each requested item into the cache: the chain must be the intermediate for the leaf kind
// followed by the ARK pinned in cci for the product, the intermediate signed by it; the VCEK must
// be a SEV-VCEK certificate whose hwID and TCB extensions equal the key's, signed by that
// intermediate; the CRL must be issued and signed by that ARK. The chain is fetched first (and
// also when only the VCEK or CRL is asked for and the cache lacks it). Anything else is not
// cached; a cached entry that no longer passes is dropped and fetched again.
std::vector<SnpFetchResult> fetch_snp_collateral(const SnpCollateralKey& k, const std::vector<SnpItem>& items, const SnpCache& cache,
                                                 const SnpFetchOptions& o);

}  // namespace cci::collateral
