#include "collateral/nvidia_rim.h"

#include <cctype>

#include <nlohmann/json.hpp>

#include "base/hex.h"
#include "collateral/cache_files.h"
#include "crypto/digest.h"

namespace cci::collateral {

namespace {
constexpr size_t kMaxRim = 4u << 20;  // as verify::kMaxRimSize
}

bool valid_rim_id(const std::string& id) {
  if (id.empty() || id.size() > 128 || id.front() == '.') return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

std::string RimCache::file_for(const std::string& id) const { return dir_ + "/nvidia/rim/" + id + ".xml"; }

Result<std::optional<Bytes>> RimCache::rim(const std::string& id) const {
  if (!valid_rim_id(id)) return make_error(ErrorCode::kInvalidInput, "RIM id '" + id + "' has characters no RIM id has", "rim");
  return detail::read_if_present(file_for(id), kMaxRim);
}

Status RimCache::store(const std::string& id, ByteView xml) const {
  if (!valid_rim_id(id)) return make_error(ErrorCode::kInvalidInput, "RIM id '" + id + "' has characters no RIM id has", "rim");
  return detail::store(file_for(id), xml);
}

RimFetched fetch_rim(const std::string& id, const RimCache& cache, const RimFetchOptions& o, const std::function<Status(ByteView xml)>& check) {
  RimFetched out;
  out.id = id;
  auto fail = [&out](Error e) {
    out.error = std::move(e);
    return out;
  };
  if (!valid_rim_id(id)) return fail(Error::make(ErrorCode::kInvalidInput, "RIM id '" + id + "' (from the report's unverified fields) has characters no RIM id has", "rim"));
  out.file = cache.file_for(id);
  std::string base = o.base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  out.url = base + "/" + id;
  if (!o.refresh) {
    auto cached = cache.rim(id);
    if (cached && *cached && check(**cached)) {
      out.data = std::move(**cached);
      return out;
    }
  }
  HttpOptions ho = o.http;
  ho.max_body = 2 * kMaxRim;  // base64 in JSON
  auto body = http_get(out.url, ho);
  if (!body) return fail(body.error());
  const auto j = nlohmann::json::parse(body->begin(), body->end(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("rim") || !j["rim"].is_string()) {
    return fail(Error::make(ErrorCode::kInvalidInput, "RIM service answer for " + id + " refused: not a JSON object with a base64 \"rim\"", "rim"));
  }
  if (j.contains("id") && (!j["id"].is_string() || j["id"].get<std::string>() != id)) {
    return fail(Error::make(ErrorCode::kInvalidInput, "RIM service answer for " + id + " refused: it is for another id", "rim"));
  }
  auto xml = base64_decode(j["rim"].get<std::string>(), "rim");
  if (!xml) return fail(Error::make(ErrorCode::kInvalidInput, "RIM service answer for " + id + " refused: " + xml.error().message, "rim"));
  if (j.contains("sha256")) {
    if (!j["sha256"].is_string() || j["sha256"].get<std::string>() != to_hex(crypto::digest(crypto::DigestAlg::kSha256, *xml))) {
      return fail(Error::make(ErrorCode::kInvalidInput, "RIM service answer for " + id + " refused: its sha256 is not the RIM's", "rim"));
    }
  }
  if (auto st = check(*xml); !st) return fail(Error::make(ErrorCode::kInvalidInput, "RIM service answer for " + id + " refused: " + st.error().message, "rim"));
  if (auto st = cache.store(id, *xml); !st) return fail(st.error());
  out.downloaded = true;
  out.data = std::move(*xml);
  return out;
}

}  // namespace cci::collateral
