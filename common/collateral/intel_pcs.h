// Intel's TDX collateral from the Provisioning Certification Service (Intel SGX and TDX PCS API
// v4) or a caching service that serves the same API (PCCS), into an on-disk cache:
//
//   GET {pcs}/tdx/certification/v4/tcb?fmspc=F[&update=early]   TCB Info (JSON), its issuer chain in
//                                                               the TCB-Info-Issuer-Chain header
//   GET {pcs}/tdx/certification/v4/qe/identity[?update=early]   QE Identity (JSON), its issuer chain
//                                                               in SGX-Enclave-Identity-Issuer-Chain
//   GET {pcs}/sgx/certification/v4/pckcrl?ca=platform|processor&encoding=der
//                                                               the PCK CRL (DER), its issuer chain
//                                                               in SGX-PCK-CRL-Issuer-Chain
//   GET {root_crl_url}                                          the Intel SGX Root CA CRL (DER;
//                                                               PCCS: {pccs}/sgx/certification/v4/rootcacrl)
// Issuer chains arrive URL-encoded (RFC 3986 percent-encoding of the PEM text). Nothing fetched is
// trusted: a set is cached only after the TDX verifier's collateral checks pass on it for the quote
// it was fetched for (signatures to the pinned Intel SGX Root CA, CRLs current, FMSPC equal), and
// every use verifies it again.
//
// Cache: {dir}/intel/tdx/{FMSPC}-{platform|processor}[-early]/ with tcb_info.json, qe_identity.json,
// tcb_info_issuer_chain.pem, qe_identity_issuer_chain.pem, pck_crl.der, pck_crl_issuer_chain.pem,
// root_ca_crl.der: the layout cci-verify report --tdx-collateral reads.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "collateral/http.h"
#include "verify/tdx_verify.h"

namespace cci::collateral {

inline constexpr const char* kIntelPcsUrl = "https://api.trustedservices.intel.com";
inline constexpr const char* kIntelRootCaCrlUrl = "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der";

// $CCI_PCS_URL, else Intel's PCS.
std::string default_pcs_url();

// What identifies a quote's collateral: its PCK certificate's FMSPC and the CA that issued it.
struct TdxCollateralKey {
  std::string fmspc;             // 12 hex digits, lower case
  std::string ca = "platform";   // "platform" | "processor": the PCK CA, which signs the PCK CRL
  bool early = false;            // update=early (Intel's early TCB recovery collateral)
};
// From the quote's (not yet verified) PCK chain: only a lookup key.
std::optional<TdxCollateralKey> tdx_collateral_key(ByteView quote);

class TdxCache {
 public:
  explicit TdxCache(std::string dir) : dir_(std::move(dir)) {}
  std::string entry_dir(const TdxCollateralKey& k) const;
  // The cached set for the key; nullopt when any file is missing. Verified by the caller.
  Result<std::optional<verify::TdxCollateral>> read(const TdxCollateralKey& k) const;

 private:
  std::string dir_;
};

enum class TdxItem { kTcbInfo, kQeIdentity, kPckCrl, kRootCaCrl };
const char* tdx_item_name(TdxItem i);  // "tcb_info", "qe_identity", "pck_crl", "root_ca_crl"
std::optional<TdxItem> tdx_item_from_name(const std::string& name);

struct PcsFetchOptions {
  std::string pcs_url = kIntelPcsUrl;
  std::string root_crl_url;   // empty: Intel's (with a PCCS URL: {pcs_url}/sgx/certification/v4/rootcacrl)
  bool pccs = false;          // pcs_url is a PCCS: the root CA CRL comes from it too
  HttpOptions http;
  bool refresh = false;       // download even when the cache has the set
  std::time_t at = 0;         // the time the downloaded set must be current at (0: now)
};

struct TdxFetchResult {
  TdxItem item;
  std::string url;
  std::string file;          // cache file
  bool downloaded = false;   // false: already cached
  std::optional<Error> error;
  Bytes data;                // without error: the checked bytes
};

// Gets the requested items (all four when `items` is empty) for the quote's FMSPC and PCK CA into
// the cache. The other items come from the cache or are downloaded too: the set is checked as a
// whole, and written only when every collateral check passes. `checked`, when given, receives
// the set that passed (the cache's or the download), so a caller uses the bytes checked here
// instead of reading the cache again.
std::vector<TdxFetchResult> fetch_tdx_collateral(ByteView quote, const TdxCollateralKey& k, const std::vector<TdxItem>& items, const TdxCache& cache,
                                                 const PcsFetchOptions& o, std::optional<verify::TdxCollateral>* checked = nullptr);

// RFC 3986 percent-decoding (the PCS's issuer-chain headers); kMalformed on a bad escape.
Result<std::string> percent_decode(const std::string& s);

}  // namespace cci::collateral
