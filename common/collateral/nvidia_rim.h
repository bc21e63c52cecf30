// NVIDIA's RIM service: GET {base}/{id} answers {"id": ID, "rim": base64(the RIM), ...}; the RIM
// (a signed SWID tag) is checked by the caller's `check` (the appraiser's RIM verification) before
// it is cached under CACHE/nvidia/rim/ID.xml. Ids are built from a report's unverified fields, so
// only letters, digits, '_', '.' and '-' are accepted: an id is never a path.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "base/bytes.h"
#include "base/result.h"
#include "collateral/http.h"

namespace cci::collateral {

inline constexpr const char* kNvidiaRimUrl = "https://rim.attestation.nvidia.com/v1/rim";

struct RimFetchOptions {
  std::string base_url = kNvidiaRimUrl;  // {base_url}/{id}
  bool refresh = false;                  // download even what the cache holds
  HttpOptions http;
};

class RimCache {
 public:
  explicit RimCache(std::string dir) : dir_(std::move(dir)) {}
  std::string file_for(const std::string& id) const;
  Result<std::optional<Bytes>> rim(const std::string& id) const;  // unchecked: a candidate
  Status store(const std::string& id, ByteView xml) const;

 private:
  std::string dir_;
};

bool valid_rim_id(const std::string& id);

struct RimFetched {
  std::string id, url, file;
  bool downloaded = false;
  std::optional<Error> error;
  Bytes data;  // the checked RIM
};

// The RIM with this id: the cache's unless `refresh`, else the service's once `check` accepts it.
RimFetched fetch_rim(const std::string& id, const RimCache& cache, const RimFetchOptions& o, const std::function<Status(ByteView xml)>& check);

}  // namespace cci::collateral
