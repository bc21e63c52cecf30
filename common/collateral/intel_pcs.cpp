// See intel_pcs.h. Paths and headers: Intel SGX and TDX Provisioning Certification Service API
// v4 ("Get TDX TCB Info", "Get TDX QE Identity", "Get PCK Cert CRL"); the root CA CRL at the
// distribution point Intel's root and PCK CA certificates name.
#include "collateral/intel_pcs.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>

#include "base/hex.h"
#include "collateral/cache_files.h"
#include "tdx/collateral.h"
#include "tdx/pck.h"
#include "tdx/quote.h"

namespace cci::collateral {
namespace {

constexpr size_t kMaxBody = 1 << 20;

std::string text(const Bytes& b) { return std::string(b.begin(), b.end()); }
Bytes bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

Error refused(const std::string& what, const std::string& why) {
  return make_error(ErrorCode::kInvalidInput, "PCS answer for the " + what + " refused: " + why, what);
}

// A CRL answer as DER: PCCS may send it hex-encoded.
Bytes crl_der(const Bytes& body) {
  const bool hex = !body.empty() && body.size() % 2 == 0 &&
                   std::all_of(body.begin(), body.end(), [](std::uint8_t c) { return std::isxdigit(c) != 0; });
  if (hex) {
    if (auto d = from_hex(text(body), "crl")) return *d;
  }
  return body;
}

struct Fetched {
  Bytes body;
  std::string chain;  // the issuer chain header, decoded (empty when the item has none)
};

Result<Fetched> get(const std::string& url, const char* chain_header, const PcsFetchOptions& o, const std::string& what) {
  HttpOptions h = o.http;
  h.max_body = std::min(h.max_body, kMaxBody);
  CCI_ASSIGN(r, http_get_response(url, h));
  Fetched f;
  f.body = std::move(r.body);
  if (chain_header) {
    auto raw = r.header(chain_header);
    if (!raw) return refused(what, std::string("no ") + chain_header + " header (the issuer chain)");
    auto pem = percent_decode(*raw);
    if (!pem) return refused(what, chain_header + std::string(": ") + pem.error().message);
    f.chain = std::move(*pem);
  }
  return f;
}

const char* const kFiles[] = {"tcb_info.json", "qe_identity.json", "tcb_info_issuer_chain.pem", "qe_identity_issuer_chain.pem",
                              "pck_crl.der",   "pck_crl_issuer_chain.pem", "root_ca_crl.der"};

// The checks on collateral a quote's verification makes, and whether this set passed them.
const char* const kCollateralChecks[] = {"tdx.root_crl", "tdx.pck_crl", "tdx.tcb_info", "tdx.qe_identity"};

std::optional<std::string> collateral_failure(ByteView quote, const verify::TdxCollateral& set, const TdxCollateralKey& k, std::time_t at) {
  // First the FMSPC the TCB Info is for (the verifier compares it with the quote's only once the
  // quote itself verifies); then the verifier's own collateral checks for this quote.
  auto cut = tdx::cut_signed_json(set.tcb_info, "tcbInfo");
  auto info = cut ? tdx::parse_tcb_info(cut->value) : Result<tdx::TcbInfo>(cut.error());
  if (!info) return "tdx.tcb_info: " + info.error().message;
  if (to_hex(info->fmspc) != k.fmspc) return "tdx.tcb_info: TCB Info is for FMSPC " + to_hex(info->fmspc) + ", not " + k.fmspc;
  verify::TdxEvidence ev;
  ev.quote = quote;
  ev.at = at;
  ev.collateral = &set;
  auto v = verify::verify_tdx_quote(ev);
  size_t ran = 0;
  for (const auto& c : v.checks.items()) {
    if (std::find(std::begin(kCollateralChecks), std::end(kCollateralChecks), c.id) == std::end(kCollateralChecks)) continue;
    if (c.outcome != verify::Outcome::kPass) return c.id + ": " + c.detail;
    ++ran;
  }
  if (ran != std::size(kCollateralChecks)) {
    return "the quote's PCK chain does not end in the pinned Intel SGX Root CA, so Intel's collateral cannot be checked for it";
  }
  return std::nullopt;
}

}  // namespace

std::string default_pcs_url() {
  const char* e = std::getenv("CCI_PCS_URL");
  return e && *e ? e : kIntelPcsUrl;
}

Result<std::string> percent_decode(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) || !std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      return make_error(ErrorCode::kMalformed, "a bad percent escape at " + std::to_string(i), "issuer_chain");
    }
    out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
    i += 2;
  }
  return out;
}

std::optional<TdxCollateralKey> tdx_collateral_key(ByteView quote) {
  auto fmspc = verify::tdx_pck_fmspc(quote);
  auto q = tdx::parse_quote(quote);
  if (!fmspc || !q) return std::nullopt;
  auto chain = crypto::parse_pem_bundle(as_bytes(q->pck_chain_pem));
  if (!chain || chain->size() < 2) return std::nullopt;
  TdxCollateralKey k;
  k.fmspc = *fmspc;
  // Intel names its PCK CAs "Intel SGX PCK Platform CA" and "Intel SGX PCK Processor CA".
  k.ca = (*chain)[1].subject_common_name().find("Processor") != std::string::npos ? "processor" : "platform";
  return k;
}

std::string TdxCache::entry_dir(const TdxCollateralKey& k) const {
  return dir_ + "/intel/tdx/" + k.fmspc + "-" + k.ca + (k.early ? "-early" : "");
}

Result<std::optional<verify::TdxCollateral>> TdxCache::read(const TdxCollateralKey& k) const {
  const std::string d = entry_dir(k);
  std::vector<Bytes> got;
  for (const char* f : kFiles) {
    CCI_ASSIGN(b, detail::read_if_present(d + "/" + f, kMaxBody));
    if (!b) return std::optional<verify::TdxCollateral>();
    got.push_back(std::move(*b));
  }
  verify::TdxCollateral c;
  c.tcb_info = std::move(got[0]);
  c.qe_identity = std::move(got[1]);
  c.tcb_info_issuer_chain_pem = text(got[2]);
  c.qe_identity_issuer_chain_pem = text(got[3]);
  c.pck_crl = std::move(got[4]);
  c.root_ca_crl = std::move(got[6]);
  return std::optional<verify::TdxCollateral>(std::move(c));
}

const char* tdx_item_name(TdxItem i) {
  switch (i) {
    case TdxItem::kTcbInfo: return "tcb_info";
    case TdxItem::kQeIdentity: return "qe_identity";
    case TdxItem::kPckCrl: return "pck_crl";
    case TdxItem::kRootCaCrl: return "root_ca_crl";
  }
  return "?";
}

std::optional<TdxItem> tdx_item_from_name(const std::string& name) {
  for (TdxItem i : {TdxItem::kTcbInfo, TdxItem::kQeIdentity, TdxItem::kPckCrl, TdxItem::kRootCaCrl}) {
    if (name == tdx_item_name(i)) return i;
  }
  return std::nullopt;
}

std::vector<TdxFetchResult> fetch_tdx_collateral(ByteView quote, const TdxCollateralKey& k, const std::vector<TdxItem>& requested, const TdxCache& cache,
                                                 const PcsFetchOptions& o, std::optional<verify::TdxCollateral>* checked) {
  std::vector<TdxItem> items = requested;
  if (items.empty()) items = {TdxItem::kTcbInfo, TdxItem::kQeIdentity, TdxItem::kPckCrl, TdxItem::kRootCaCrl};
  const std::string dir = cache.entry_dir(k);
  const std::string update = k.early ? "update=early" : "";
  const std::string base = o.pcs_url;
  const std::string root_url = !o.root_crl_url.empty() ? o.root_crl_url : o.pccs ? base + "/sgx/certification/v4/rootcacrl" : kIntelRootCaCrlUrl;
  auto url_of = [&](TdxItem i) {
    switch (i) {
      case TdxItem::kTcbInfo: return base + "/tdx/certification/v4/tcb?fmspc=" + k.fmspc + (update.empty() ? "" : "&" + update);
      case TdxItem::kQeIdentity: return base + "/tdx/certification/v4/qe/identity" + (update.empty() ? "" : "?" + update);
      case TdxItem::kPckCrl: return base + "/sgx/certification/v4/pckcrl?ca=" + k.ca + "&encoding=der";
      case TdxItem::kRootCaCrl: return root_url;
    }
    return std::string();
  };
  auto file_of = [&](TdxItem i) {
    switch (i) {
      case TdxItem::kTcbInfo: return dir + "/tcb_info.json";
      case TdxItem::kQeIdentity: return dir + "/qe_identity.json";
      case TdxItem::kPckCrl: return dir + "/pck_crl.der";
      case TdxItem::kRootCaCrl: return dir + "/root_ca_crl.der";
    }
    return std::string();
  };
  std::vector<TdxFetchResult> out;
  for (TdxItem i : items) out.push_back({i, url_of(i), file_of(i), false, std::nullopt, {}});
  // The set succeeds or fails as one: the first item carries the reason, the others point to it.
  auto fail_all = [&](const Error& e) {
    for (size_t i = 0; i < out.size(); ++i) {
      out[i].error = i == 0 ? e : make_error(e.code, "not cached: the collateral set was refused (see " + std::string(tdx_item_name(out[0].item)) + ")", e.field);
    }
    return out;
  };

  auto cached = cache.read(k);
  if (!cached) return fail_all(cached.error());
  const std::time_t at = o.at ? o.at : std::time(nullptr);
  if (*cached && !o.refresh && !collateral_failure(quote, **cached, k, at)) {
    const verify::TdxCollateral& c = **cached;
    for (auto& r : out) {
      r.data = r.item == TdxItem::kTcbInfo ? c.tcb_info : r.item == TdxItem::kQeIdentity ? c.qe_identity : r.item == TdxItem::kPckCrl ? c.pck_crl : c.root_ca_crl;
    }
    if (checked) *checked = std::move(**cached);
    return out;
  }

  // Download the whole set (a set is checked, and cached, as one).
  verify::TdxCollateral set;
  std::string pck_chain;
  for (TdxItem i : {TdxItem::kTcbInfo, TdxItem::kQeIdentity, TdxItem::kPckCrl, TdxItem::kRootCaCrl}) {
    const char* header = i == TdxItem::kTcbInfo ? "tcb-info-issuer-chain" : i == TdxItem::kQeIdentity ? "sgx-enclave-identity-issuer-chain"
                                                                        : i == TdxItem::kPckCrl   ? "sgx-pck-crl-issuer-chain"
                                                                                                  : nullptr;
    auto f = get(url_of(i), header, o, tdx_item_name(i));
    if (!f) return fail_all(f.error());
    switch (i) {
      case TdxItem::kTcbInfo:
        set.tcb_info = std::move(f->body);
        set.tcb_info_issuer_chain_pem = std::move(f->chain);
        break;
      case TdxItem::kQeIdentity:
        set.qe_identity = std::move(f->body);
        set.qe_identity_issuer_chain_pem = std::move(f->chain);
        break;
      case TdxItem::kPckCrl:
        set.pck_crl = crl_der(f->body);
        pck_chain = std::move(f->chain);
        break;
      case TdxItem::kRootCaCrl: set.root_ca_crl = crl_der(f->body); break;
    }
  }
  if (auto why = collateral_failure(quote, set, k, at)) return fail_all(refused("collateral set", *why));
  const std::pair<const char*, Bytes> files[] = {
      {"tcb_info.json", set.tcb_info}, {"qe_identity.json", set.qe_identity}, {"tcb_info_issuer_chain.pem", bytes(set.tcb_info_issuer_chain_pem)},
      {"qe_identity_issuer_chain.pem", bytes(set.qe_identity_issuer_chain_pem)}, {"pck_crl.der", set.pck_crl},
      {"pck_crl_issuer_chain.pem", bytes(pck_chain)}, {"root_ca_crl.der", set.root_ca_crl}};
  for (const auto& [name, data] : files) {
    if (auto st = detail::store(dir + "/" + name, data); !st) return fail_all(st.error());
  }
  for (auto& r : out) {
    r.downloaded = true;
    r.data = r.item == TdxItem::kTcbInfo ? set.tcb_info : r.item == TdxItem::kQeIdentity ? set.qe_identity : r.item == TdxItem::kPckCrl ? set.pck_crl : set.root_ca_crl;
  }
  if (checked) *checked = std::move(set);
  return out;
}

}  // namespace cci::collateral
