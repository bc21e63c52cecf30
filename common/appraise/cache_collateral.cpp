#include "appraise/cache_collateral.h"

#include <ctime>

#include "verify/nvgpu_rim.h"

namespace cci::appraise {

Status rim_status(const verify::RimVerification& v) {
  if (v.passed) return {};
  for (const auto& ch : v.checks.items()) {
    if (ch.outcome == verify::Outcome::kFail) return make_error(ErrorCode::kVerificationFailed, ch.detail, ch.id);
  }
  return make_error(ErrorCode::kVerificationFailed, "the RIM does not verify", "rim");
}

Status nvgpu_rim_check(ByteView xml, std::time_t at, const crypto::Certificate* root) { return rim_status(verify::verify_rim(xml, at, "the RIM", root)); }

CacheCollateral::CacheCollateral(CacheCollateralOptions o)
    : o_(std::move(o)),
      snp_(o_.cache_dir.empty() ? collateral::default_cache_dir() : o_.cache_dir),
      hygon_(o_.cache_dir.empty() ? collateral::default_cache_dir() : o_.cache_dir),
      intel_(o_.cache_dir.empty() ? collateral::default_cache_dir() : o_.cache_dir),
      ocsp_(o_.cache_dir.empty() ? collateral::default_cache_dir() : o_.cache_dir),
      rims_(o_.cache_dir.empty() ? collateral::default_cache_dir() : o_.cache_dir) {}

std::optional<Bytes> CacheCollateral::nvgpu_rim(const std::string& id, const Notes& n) {
  if (!o_.offline) {
    // Checked at the appraisal's time (the TDX options carry it), like the appraisal will.
    const std::time_t at = o_.intel.at != 0 ? o_.intel.at : std::time(nullptr);
    auto f = collateral::fetch_rim(id, rims_, o_.nvidia_rims, [at](ByteView xml) { return nvgpu_rim_check(xml, at); });
    if (f.error) n.warn("cannot get the RIM " + id + ": " + f.error->message);
    else if (f.downloaded) n.info("fetched the RIM " + id + " from " + f.url + " into " + f.file);
  }
  auto r = rims_.rim(id);
  if (!r) {
    n.warn(r.error().message);
    return std::nullopt;
  }
  return std::move(*r);
}

std::vector<Bytes> CacheCollateral::nvgpu_ocsp(const crypto::Certificate& cert, const crypto::Certificate& issuer, const Notes& n) {
  if (!o_.offline) {
    auto f = collateral::fetch_ocsp(cert, issuer, ocsp_, o_.nvidia);
    if (f.error) n.warn("cannot get an OCSP answer about " + f.subject + ": " + f.error->message);
    else if (f.downloaded) n.info("fetched the OCSP answer about " + f.subject + " from " + f.url + " into " + f.file);
  }
  auto a = ocsp_.answer(cert);
  if (!a) {
    n.warn(a.error().message);
    return {};
  }
  if (!*a) return {};
  return {std::move(**a)};
}

void CacheCollateral::fetch_snp(const SnpKey& k, collateral::SnpItem item, const Notes& n, bool refresh) {
  if (o_.offline) return;
  auto opts = o_.amd;
  opts.refresh = refresh;
  for (const auto& r : collateral::fetch_snp_collateral(k, {item}, snp_, opts)) {
    if (r.error) n.warn(std::string(refresh ? "cannot refresh the " : "cannot fetch the ") + collateral::snp_item_name(r.item) + ": " + r.error->message);
    else if (r.downloaded) n.info(std::string("fetched ") + collateral::snp_item_name(r.item) + " into " + r.file);
  }
}

std::optional<crypto::Certificate> CacheCollateral::snp_vek(const SnpKey& k, const Notes& n) {
  fetch_snp(k, collateral::SnpItem::kVcek, n);
  auto v = snp_.vcek(k);
  if (!v) {
    n.warn(v.error().message);
    return std::nullopt;
  }
  return std::move(*v);
}

std::vector<crypto::Certificate> CacheCollateral::snp_chain(const SnpKey& k, const Notes& n) {
  fetch_snp(k, collateral::SnpItem::kChain, n);
  auto c = snp_.chain(k.product, k.vlek);
  if (!c) {
    n.warn(c.error().message);
    return {};
  }
  return *c ? std::move(**c) : std::vector<crypto::Certificate>{};
}

std::optional<crypto::Crl> CacheCollateral::snp_crl(const SnpKey& k, const Notes& n) {
  fetch_snp(k, collateral::SnpItem::kCrl, n);
  // A cached CRL past its nextUpdate is replaced once (a new one is published before then).
  auto cached = snp_.crl(k.product, k.vlek);
  if (cached && *cached && (*cached)->next_update() && *(*cached)->next_update() < std::time(nullptr)) {
    fetch_snp(k, collateral::SnpItem::kCrl, n, true);
    cached = snp_.crl(k.product, k.vlek);
  }
  if (!cached) {
    n.warn(cached.error().message);
    return std::nullopt;
  }
  return std::move(*cached);
}

void CacheCollateral::fetch_hygon(const std::string& chip_id, collateral::HygonItem item, const Notes& n) {
  if (o_.offline) return;
  for (const auto& r : collateral::fetch_hygon_collateral(chip_id, {item}, hygon_, o_.hygon)) {
    if (r.error) n.warn(std::string("cannot fetch the ") + collateral::hygon_item_name(r.item) + ": " + r.error->message);
    else if (r.downloaded) n.info(std::string("fetched ") + collateral::hygon_item_name(r.item) + " into " + r.file);
  }
}

std::optional<Bytes> CacheCollateral::csv_hrk(const Notes& n) {
  fetch_hygon("", collateral::HygonItem::kHrk, n);
  auto h = hygon_.hrk();
  if (!h) {
    n.warn(h.error().message);
    return std::nullopt;
  }
  return std::move(*h);
}

std::optional<std::pair<Bytes, std::string>> CacheCollateral::csv_hsk_cek(const std::string& chip_id, const Notes& n) {
  fetch_hygon(chip_id, collateral::HygonItem::kHskCek, n);
  auto h = hygon_.hsk_cek(chip_id);
  if (!h) {
    n.warn(h.error().message);
    return std::nullopt;
  }
  if (!*h) return std::nullopt;
  return std::make_pair(std::move(**h), "the cache (" + hygon_.hsk_cek_file(chip_id) + ")");
}

std::optional<verify::TdxCollateral> CacheCollateral::tdx_collateral(ByteView quote, const Notes& n) {
  auto key = collateral::tdx_collateral_key(quote);
  if (!key) return std::nullopt;
  key->early = o_.tdx_early;
  if (!o_.offline) {
    // A cached set that still passes is used as it is; otherwise one is fetched and checked before
    // caching. Either way the bytes checked there are the ones returned (the verifier checks them again).
    std::optional<verify::TdxCollateral> checked;
    for (const auto& r : collateral::fetch_tdx_collateral(quote, *key, {}, intel_, o_.intel, &checked)) {
      if (r.error) {
        n.warn(std::string("cannot fetch Intel's ") + collateral::tdx_item_name(r.item) + ": " + r.error->message);
        break;  // the set fails as one: one message
      }
      if (r.downloaded) n.info(std::string("fetched Intel's ") + collateral::tdx_item_name(r.item) + " into " + r.file);
    }
    if (checked) return checked;
  }
  // Offline, or nothing current to be had: the cache as it is, for the verifier to judge (a stale
  // set is "cannot evaluate", with the reason).
  auto cached = intel_.read(*key);
  if (!cached) {
    n.warn(cached.error().message);
    return std::nullopt;
  }
  return std::move(*cached);
}

}  // namespace cci::appraise
