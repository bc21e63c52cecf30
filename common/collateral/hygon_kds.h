// Hygon KDS collateral for CSV (Hygon KDS at cert.hygon.cn, as openanolis/csv-rs and confidential-containers/trustee query it): the HRK and, per chip, HSK || CEK.
//   GET {base}/hrk                          832-byte HRK (must be the one pinned in cci)
//   GET {base}/hsk_cek?snumber={chip_id}    HSK (832) || CEK (2084)
// Cache: {dir}/hygon/hrk.cert and {dir}/hygon/hsk_cek/{chip_id}/hsk_cek.cert. A download is
// cached only after HSK -> HRK and CEK -> HSK verify. Chip IDs are restricted to letters and
// digits before they reach a URL or a path.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "collateral/http.h"

namespace cci::collateral {

inline constexpr const char* kHygonKdsUrl = "https://cert.hygon.cn";

std::string default_hygon_kds_url();  // $CCI_HYGON_KDS_URL, else https://cert.hygon.cn

class HygonCache {
 public:
  explicit HygonCache(std::string dir) : dir_(std::move(dir)) {}
  const std::string& dir() const { return dir_; }
  std::string hrk_file() const;
  std::string hsk_cek_file(const std::string& chip_id) const;
  // nullopt when absent. Entries are re-checked on every read (the HRK against the pin, HSK||CEK
  // against the HRK); one that fails is removed, so it is fetched again, not kept. The chip ID to
  // CEK mapping itself is signed by nothing (specs: the CSV chip ID is unauthenticated): the key
  // server the cache was filled from is trusted for it, which is why plain http is refused.
  Result<std::optional<Bytes>> hrk() const;
  Result<std::optional<Bytes>> hsk_cek(const std::string& chip_id) const;

 private:
  std::string dir_;
};

Status check_chip_id(const std::string& chip_id);  // [A-Za-z0-9]{1,64}

enum class HygonItem { kHrk, kHskCek };
const char* hygon_item_name(HygonItem i);  // "hrk", "hsk_cek"

struct HygonFetchResult {
  HygonItem item;
  std::string url, file;
  bool downloaded = false;
  std::optional<Error> error;
  Bytes data;  // without error: the bytes that passed the checks (downloaded, or the cache entry)
};

struct HygonFetchOptions {
  std::string kds_url = kHygonKdsUrl;
  HttpOptions http;
  bool refresh = false;
};

std::vector<HygonFetchResult> fetch_hygon_collateral(const std::string& chip_id, const std::vector<HygonItem>& items, const HygonCache& cache,
                                                     const HygonFetchOptions& o);

}  // namespace cci::collateral
