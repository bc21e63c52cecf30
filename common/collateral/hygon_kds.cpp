#include "collateral/hygon_kds.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "base/file_io.h"
#include "collateral/cache_files.h"
#include "crypto/digest.h"
#include "crypto/random.h"
#include "csv/cert.h"
#include "verify/csv_verify.h"

namespace cci::collateral {
namespace {

namespace fs = std::filesystem;
using detail::bad_answer;
using detail::read_if_present;
using detail::store;
inline constexpr size_t kHskCekSize = csv::kCaCertSize + csv::kCsvCertSize;

Status check_hrk(ByteView data) {
  if (!crypto::ct_equal(crypto::digest(crypto::DigestAlg::kSha256, data), verify::pinned_hrk_fingerprint())) {
    return bad_answer("hrk", "it is not the HRK pinned in cci");
  }
  return {};
}

// HSK signed by the HRK, CEK signed by the HSK (usage checks are the verifier's).
Status check_hsk_cek(ByteView data, ByteView hrk_bytes) {
  if (data.size() != kHskCekSize) return bad_answer("hsk_cek", std::to_string(data.size()) + " bytes, expected 2916");
  auto hrk = csv::parse_ca_cert(hrk_bytes, "HRK");
  auto hsk = csv::parse_ca_cert(data.first(csv::kCaCertSize), "HSK");
  if (!hsk) return bad_answer("hsk_cek", hsk.error().message);
  auto cek = csv::parse_csv_cert(data.subspan(csv::kCaCertSize), "CEK");
  if (!cek) return bad_answer("hsk_cek", cek.error().message);
  if (!hrk || !csv::verify_hygon_signature(hrk->pub, hsk->signed_bytes(), hsk->sig)) return bad_answer("hsk_cek", "the HSK is not signed by the HRK");
  if (!csv::verify_hygon_signature(hsk->pub, cek->signed_bytes(), cek->sig1)) return bad_answer("hsk_cek", "the CEK is not signed by the HSK");
  return {};
}

}  // namespace

std::string default_hygon_kds_url() {
  const char* v = std::getenv("CCI_HYGON_KDS_URL");
  return v && *v ? std::string(v) : std::string(kHygonKdsUrl);
}

Status check_chip_id(const std::string& id) {
  const bool ok = !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  });
  if (!ok) return make_error(ErrorCode::kInvalidInput, "chip ID \"" + id + "\" is not 1-64 letters and digits: not used in a URL or path", "chip_id");
  return {};
}

std::string HygonCache::hrk_file() const { return dir_ + "/hygon/hrk.cert"; }
std::string HygonCache::hsk_cek_file(const std::string& chip_id) const { return dir_ + "/hygon/hsk_cek/" + chip_id + "/hsk_cek.cert"; }
namespace {

// A cache entry that fails its checks is removed, so that it is fetched again (never kept).
Result<std::optional<Bytes>> checked_entry(const std::string& file, Bytes data, const Status& ok) {
  if (ok) return std::optional<Bytes>(std::move(data));
  std::error_code ec;
  fs::remove(file, ec);
  return make_error(ok.error().code, "cached " + file + " dropped: " + ok.error().message, "cache");
}

}  // namespace

Result<std::optional<Bytes>> HygonCache::hrk() const {
  CCI_ASSIGN(data, read_if_present(hrk_file(), csv::kCaCertSize));
  if (!data) return data;
  const Status ok = check_hrk(*data);
  return checked_entry(hrk_file(), std::move(*data), ok);
}

Result<std::optional<Bytes>> HygonCache::hsk_cek(const std::string& chip_id) const {
  CCI_TRY(check_chip_id(chip_id));
  CCI_ASSIGN(data, read_if_present(hsk_cek_file(chip_id), kHskCekSize));
  if (!data) return data;
  CCI_ASSIGN(hrk, this->hrk());
  if (!hrk) return make_error(ErrorCode::kIo, "cached " + hsk_cek_file(chip_id) + " cannot be checked without the cached HRK", "cache");
  const Status ok = check_hsk_cek(*data, *hrk);
  return checked_entry(hsk_cek_file(chip_id), std::move(*data), ok);
}

const char* hygon_item_name(HygonItem i) { return i == HygonItem::kHrk ? "hrk" : "hsk_cek"; }

std::vector<HygonFetchResult> fetch_hygon_collateral(const std::string& chip_id, const std::vector<HygonItem>& items, const HygonCache& cache,
                                                     const HygonFetchOptions& o) {
  std::vector<HygonFetchResult> out;
  std::string base = o.kds_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  for (HygonItem item : {HygonItem::kHrk, HygonItem::kHskCek}) {  // the HRK first: HSK||CEK are checked against it
    if (std::find(items.begin(), items.end(), item) == items.end()) continue;
    HygonFetchResult r{item, {}, {}, false, std::nullopt, {}};
    out.push_back(r);
    HygonFetchResult& res = out.back();
    if (item == HygonItem::kHskCek) {
      if (auto st = check_chip_id(chip_id); !st) {
        res.error = st.error();
        continue;
      }
    }
    res.url = item == HygonItem::kHrk ? base + "/hrk" : base + "/hsk_cek?snumber=" + chip_id;
    res.file = item == HygonItem::kHrk ? cache.hrk_file() : cache.hsk_cek_file(chip_id);
    if (!o.refresh) {  // used only if it still passes its checks (a bad entry is dropped and fetched again)
      auto cached = item == HygonItem::kHrk ? cache.hrk() : cache.hsk_cek(chip_id);
      if (cached && *cached) {
        res.data = std::move(**cached);
        continue;
      }
    }
    std::optional<Bytes> hrk;
    if (item == HygonItem::kHskCek) {
      auto cached = cache.hrk();
      if (!cached || !*cached) {
        res.error = Error::make(ErrorCode::kIo, "HSK||CEK cannot be checked before the pinned HRK is cached", "hsk_cek");
        continue;
      }
      hrk = std::move(**cached);
    }
    auto body = http_get(res.url, o.http);
    if (!body) {
      res.error = body.error();
      continue;
    }
    Status ok = item == HygonItem::kHrk ? check_hrk(*body) : check_hsk_cek(*body, *hrk);
    if (ok) ok = store(res.file, *body);
    if (!ok) res.error = ok.error();
    res.downloaded = static_cast<bool>(ok);
    if (ok) res.data = std::move(*body);
  }
  return out;
}

}  // namespace cci::collateral
