#include "collateral/amd_kds.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "base/file_io.h"
#include "collateral/cache_files.h"
#include "base/hex.h"
#include "crypto/digest.h"
#include "crypto/random.h"
#include "snp/vek.h"
#include "verify/snp_verify.h"

namespace cci::collateral {
namespace {

namespace fs = std::filesystem;
using detail::bad_answer;
using detail::read_if_present;
using detail::store;
using snp::Product;

inline constexpr size_t kMaxCollateralBytes = 1 << 20;

size_t hwid_size(Product p) { return p == Product::kTurin ? 8 : 64; }
const char* kind_dir(bool vlek) { return vlek ? "vlek" : "vcek"; }

std::string tcb_file_stem(const snp::Tcb& t) {
  std::string s = t.fmc ? "fmc" + std::to_string(*t.fmc) + "-" : "";
  return s + "bl" + std::to_string(t.bootloader) + "-tee" + std::to_string(t.tee) + "-snp" + std::to_string(t.snp) + "-ucode" +
         std::to_string(t.microcode);
}

// The VCEK must be for this chip and TCB, and signed by the product's ASK (the chain's
// intermediate, itself checked against the pinned ARK): a KDS, a mirror or a proxy answering with
// another chip's certificate, or with one it made itself, must not poison the cache.
Result<crypto::Certificate> check_vcek(const SnpCollateralKey& k, ByteView der, const std::vector<crypto::Certificate>& chain) {
  auto c = crypto::Certificate::from_der(der);
  if (!c) return bad_answer("vcek", c.error().message);
  if (c->subject_common_name() != "SEV-VCEK") return bad_answer("vcek", "subject CN is \"" + c->subject_common_name() + "\", not SEV-VCEK");
  auto x = snp::parse_vek_extensions([&](const std::string& oid) { return c->extension_value(oid); });
  if (!x) return bad_answer("vcek", x.error().message);
  const size_t n = hwid_size(k.product);
  if (!x->hw_id || x->hw_id->size() != n || !crypto::ct_equal(*x->hw_id, ByteView(k.chip_id).first(n))) {
    return bad_answer("vcek", "its hwID is not this chip's ID");
  }
  const bool tcb_ok = x->bl == k.tcb.bootloader && x->tee == k.tcb.tee && x->snp == k.tcb.snp && x->ucode == k.tcb.microcode &&
                      x->fmc == k.tcb.fmc;
  if (!tcb_ok) return bad_answer("vcek", "its TCB extensions are not " + snp::tcb_text(k.tcb));
  if (chain.size() != 2 || !c->signed_by(chain[0])) {
    return bad_answer("vcek", "it is not signed by the " + std::string(snp::product_name(k.product)) + " ASK of the pinned chain");
  }
  return std::move(*c);
}

// A cache entry that fails its checks is removed, so that it is fetched again (never kept).
template <class T>
Result<std::optional<T>> checked_entry(const std::string& file, Result<T> checked) {
  if (checked) return std::optional<T>(std::move(*checked));
  std::error_code ec;
  fs::remove(file, ec);
  return make_error(checked.error().code, "cached " + file + " dropped: " + checked.error().message, "cache");
}

// ASK (or ASVK) then ARK; the ARK must be the one pinned in cci, the intermediate signed by it.
Result<std::vector<crypto::Certificate>> check_chain(Product p, bool vlek, ByteView pem) {
  auto certs = crypto::parse_pem_bundle(pem);
  if (!certs) return bad_answer("cert_chain", certs.error().message);
  if (certs->size() != 2) return bad_answer("cert_chain", std::to_string(certs->size()) + " certificates, expected 2 (intermediate, ARK)");
  const auto& ica = (*certs)[0];
  const auto& ark = (*certs)[1];
  if (!crypto::ct_equal(ark.fingerprint_sha256(), verify::pinned_ark_fingerprint(p))) {
    return bad_answer("cert_chain", "the root is not the ARK-" + std::string(snp::product_name(p)) + " pinned in cci");
  }
  const std::string want = (vlek ? "SEV-VLEK-" : "SEV-") + std::string(snp::product_name(p));
  if (ica.subject_common_name() != want) return bad_answer("cert_chain", "intermediate CN is \"" + ica.subject_common_name() + "\", not " + want);
  if (!ica.signed_by(ark)) return bad_answer("cert_chain", want + " is not signed by the ARK");
  return certs;
}

Result<crypto::Crl> check_crl(ByteView der, const crypto::Certificate& ark) {
  auto crl = crypto::Crl::parse(der);
  if (!crl) return bad_answer("crl", crl.error().message);
  if (crl->issuer() != ark.subject()) return bad_answer("crl", "issuer " + crl->issuer() + " is not " + ark.subject());
  if (!crl->signed_by(ark)) return bad_answer("crl", "its signature does not verify with " + ark.subject_common_name());
  return std::move(*crl);
}

std::string getenv_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

}  // namespace

SnpCollateralKey snp_collateral_key(const snp::Report& r, Product p) {
  SnpCollateralKey k;
  k.product = p;
  k.vlek = r.signing_key() == snp::SigningKey::kVlek;
  k.chip_id.assign(r.chip_id.begin(), r.chip_id.end());
  k.tcb = snp::decode_tcb(r.reported_tcb, p);
  return k;
}

std::string kds_vcek_path(const SnpCollateralKey& k) {
  std::string s = std::string("/vcek/v1/") + snp::product_name(k.product) + "/" + to_hex(ByteView(k.chip_id).first(hwid_size(k.product))) +
                  "?blSPL=" + std::to_string(k.tcb.bootloader) + "&teeSPL=" + std::to_string(k.tcb.tee) +
                  "&snpSPL=" + std::to_string(k.tcb.snp) + "&ucodeSPL=" + std::to_string(k.tcb.microcode);
  if (k.tcb.fmc) s += "&fmcSPL=" + std::to_string(*k.tcb.fmc);
  return s;
}

std::string kds_cert_chain_path(Product p, bool vlek) {
  return std::string("/") + kind_dir(vlek) + "/v1/" + snp::product_name(p) + "/cert_chain";
}
std::string kds_crl_path(Product p, bool vlek) { return std::string("/") + kind_dir(vlek) + "/v1/" + snp::product_name(p) + "/crl"; }

std::string SnpCache::vcek_file(const SnpCollateralKey& k) const {
  return dir_ + "/amd/" + snp::product_name(k.product) + "/vcek/" + to_hex(ByteView(k.chip_id).first(hwid_size(k.product))) + "/" +
         tcb_file_stem(k.tcb) + ".der";
}
std::string SnpCache::chain_file(Product p, bool vlek) const {
  return dir_ + "/amd/" + snp::product_name(p) + "/" + kind_dir(vlek) + "_cert_chain.pem";
}
std::string SnpCache::crl_file(Product p, bool vlek) const {
  return dir_ + "/amd/" + snp::product_name(p) + "/" + kind_dir(vlek) + "_crl.der";
}

Result<std::optional<crypto::Certificate>> SnpCache::vcek(const SnpCollateralKey& k) const {
  auto data = read_if_present(vcek_file(k), kMaxCollateralBytes);
  if (!data) return data.error();
  if (!*data) return std::optional<crypto::Certificate>();
  auto chain = this->chain(k.product, k.vlek);
  if (!chain) return chain.error();
  if (!*chain) return make_error(ErrorCode::kIo, "cached " + vcek_file(k) + " cannot be checked without the cached cert chain", "cache");
  return checked_entry(vcek_file(k), check_vcek(k, **data, **chain));
}

Result<std::optional<std::vector<crypto::Certificate>>> SnpCache::chain(Product p, bool vlek) const {
  auto data = read_if_present(chain_file(p, vlek), kMaxCollateralBytes);
  if (!data) return data.error();
  if (!*data) return std::optional<std::vector<crypto::Certificate>>();
  return checked_entry(chain_file(p, vlek), check_chain(p, vlek, **data));
}

Result<std::optional<crypto::Crl>> SnpCache::crl(Product p, bool vlek) const {
  auto data = read_if_present(crl_file(p, vlek), kMaxCollateralBytes);
  if (!data) return data.error();
  if (!*data) return std::optional<crypto::Crl>();
  auto chain = this->chain(p, vlek);
  if (!chain) return chain.error();
  if (!*chain) return make_error(ErrorCode::kIo, "cached " + crl_file(p, vlek) + " cannot be checked without the cached cert chain", "cache");
  return checked_entry(crl_file(p, vlek), check_crl(**data, (**chain)[1]));
}

std::string default_cache_dir() {
  std::string explicit_dir = getenv_or("CCI_CACHE_DIR", "");
  if (!explicit_dir.empty()) return explicit_dir;
  std::string xdg = getenv_or("XDG_CACHE_HOME", "");
  if (!xdg.empty()) return xdg + "/cci";
  return getenv_or("HOME", ".") + "/.cache/cci";
}

std::string default_kds_url() { return getenv_or("CCI_KDS_URL", kAmdKdsUrl); }

const char* snp_item_name(SnpItem i) {
  switch (i) {
    case SnpItem::kVcek: return "vcek";
    case SnpItem::kChain: return "cert_chain";
    case SnpItem::kCrl: return "crl";
  }
  return "?";
}

namespace {

// Downloads one item, checks it and stores it; the result records what happened.
SnpFetchResult fetch_one(const SnpCollateralKey& k, SnpItem item, const SnpCache& cache, const SnpFetchOptions& o) {
  SnpFetchResult r{item, {}, {}, false, std::nullopt, {}};
  std::string base = o.kds_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  switch (item) {
    case SnpItem::kVcek: r.url = base + kds_vcek_path(k); r.file = cache.vcek_file(k); break;
    case SnpItem::kChain: r.url = base + kds_cert_chain_path(k.product, k.vlek); r.file = cache.chain_file(k.product, k.vlek); break;
    case SnpItem::kCrl: r.url = base + kds_crl_path(k.product, k.vlek); r.file = cache.crl_file(k.product, k.vlek); break;
  }
  if (item == SnpItem::kVcek && k.vlek) {
    r.error = Error::make(ErrorCode::kUnsupported,
                          "the report is signed by a VLEK: AMD serves VLEKs only to cloud providers; get it from the provider (or the "
                          "extended report) and give it with --vek",
                          "vcek");
    return r;
  }
  // An entry already cached is used only if it still passes its checks (a bad one is dropped
  // by the cache and fetched again here).
  if (!o.refresh) {
    bool present = false;
    switch (item) {
      case SnpItem::kVcek: {
        auto c = cache.vcek(k);
        if ((present = c && *c)) r.data = (*c)->der();
        break;
      }
      case SnpItem::kChain: {
        auto c = cache.chain(k.product, k.vlek);
        if ((present = c && *c)) {
          for (const auto& cert : **c) {
            const std::string pem = cert.pem();
            r.data.insert(r.data.end(), pem.begin(), pem.end());
          }
        }
        break;
      }
      case SnpItem::kCrl: {
        auto c = cache.crl(k.product, k.vlek);
        if ((present = c && *c)) r.data = (*c)->der();
        break;
      }
    }
    if (present) return r;
  }
  // The VCEK is checked against the ASK and the CRL against the ARK: the chain must be cached first.
  std::vector<crypto::Certificate> chain;
  if (item != SnpItem::kChain) {
    auto c = cache.chain(k.product, k.vlek);
    if (!c || !*c) {
      r.error = Error::make(ErrorCode::kIo, std::string("the ") + snp_item_name(item) + " cannot be checked before the cert chain is cached", snp_item_name(item));
      return r;
    }
    chain = std::move(**c);
  }
  auto body = http_get(r.url, o.http);
  if (!body) {
    r.error = body.error();
    return r;
  }
  Status ok;
  switch (item) {
    case SnpItem::kVcek: ok = status_of(check_vcek(k, *body, chain)); break;
    case SnpItem::kChain: ok = status_of(check_chain(k.product, k.vlek, *body)); break;
    case SnpItem::kCrl: ok = status_of(check_crl(*body, chain[1])); break;
  }
  if (ok) ok = store(r.file, *body);
  if (!ok) r.error = ok.error();
  r.downloaded = static_cast<bool>(ok);
  if (ok) r.data = std::move(*body);
  return r;
}

}  // namespace

std::vector<SnpFetchResult> fetch_snp_collateral(const SnpCollateralKey& k, const std::vector<SnpItem>& items, const SnpCache& cache,
                                                 const SnpFetchOptions& o) {
  std::vector<SnpFetchResult> out;
  // The chain first: the VCEK and the CRL are checked against it before they are cached. A VCEK
  // or CRL asked for alone brings the chain along when the cache lacks it.
  std::vector<SnpItem> want = items;
  const bool needs_chain = std::any_of(want.begin(), want.end(), [](SnpItem i) { return i != SnpItem::kChain; });
  if (needs_chain && std::find(want.begin(), want.end(), SnpItem::kChain) == want.end()) {
    auto cached = cache.chain(k.product, k.vlek);
    if (!cached || !*cached) want.push_back(SnpItem::kChain);
  }
  for (SnpItem item : {SnpItem::kChain, SnpItem::kVcek, SnpItem::kCrl}) {
    if (std::find(want.begin(), want.end(), item) != want.end()) out.push_back(fetch_one(k, item, cache, o));
  }
  return out;
}

}  // namespace cci::collateral
