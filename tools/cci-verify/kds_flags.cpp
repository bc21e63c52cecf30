#include "kds_flags.h"

#include <cstdlib>

#include "cli/tool.h"

namespace cci::tools::verify {

void add_kds_flags(CLI::App* sub, KdsFlags& f) {
  sub->add_option("--kds-url", f.kds_url, "AMD KDS base URL (default: $CCI_KDS_URL, else https://kdsintf.amd.com)");
  sub->add_option("--cache-dir", f.cache_dir, "Collateral cache (default: $CCI_CACHE_DIR, else $XDG_CACHE_HOME/cci or ~/.cache/cci)");
  sub->add_option("--timeout", f.timeout_s, "Seconds to wait for each KDS answer")->check(CLI::Range(1, 600))->capture_default_str();
  sub->add_option("--attempts", f.attempts, "Tries per download when KDS answers 429 (rate limit) or 5xx")
      ->check(CLI::Range(1, 10))
      ->capture_default_str();
  sub->add_flag("--insecure-http-kds", f.insecure_http, "Allow a key server URL over plain http (answers are still checked before caching)");
  auto* pcs = sub->add_option("--pcs-url", f.pcs_url, "Intel PCS base URL for TDX collateral (default: $CCI_PCS_URL, else https://api.trustedservices.intel.com)");
  sub->add_option("--pccs-url", f.pccs_url, "A PCCS (Intel's caching service, same API) instead of the PCS; the root CA CRL comes from it too")->excludes(pcs);
  sub->add_option("--update", f.tdx_update, "TDX collateral: standard, or early (Intel's early TCB recovery collateral)")
      ->capture_default_str()
      ->check(CLI::IsMember({"standard", "early"}));
  sub->add_option("--rim-url", f.rim_url,
                  "NVIDIA GPUs: the RIM service, GET URL/ID (default: $CCI_NVIDIA_RIM_URL, else https://rim.attestation.nvidia.com/v1/rim)");
  sub->add_option("--ocsp-url", f.ocsp_url,
                  "NVIDIA GPUs: ask this OCSP responder about every certificate (default: $CCI_NVIDIA_OCSP_URL, else the one each "
                  "certificate names, NVIDIA's http://ocsp.ndis.nvidia.com)");
}

namespace {

collateral::HttpOptions http_options(const KdsFlags& f, const cli::Context& ctx) {
  collateral::HttpOptions h;
  h.timeout_ms = f.timeout_s * 1000L;
  h.max_attempts = f.attempts;
  h.user_agent = "cci-verify/" + cli::version_string();
  h.note = [&ctx](const std::string& m) { ctx.warn(m); };
  h.allow_plain_http = f.insecure_http;
  return h;
}

std::string cache_dir(const KdsFlags& f) { return f.cache_dir.empty() ? collateral::default_cache_dir() : f.cache_dir; }

}  // namespace

collateral::SnpFetchOptions fetch_options(const KdsFlags& f, const cli::Context& ctx) {
  collateral::SnpFetchOptions o;
  o.kds_url = f.kds_url.empty() ? collateral::default_kds_url() : f.kds_url;
  o.http = http_options(f, ctx);
  return o;
}

collateral::SnpCache cache_of(const KdsFlags& f) { return collateral::SnpCache(cache_dir(f)); }

collateral::HygonFetchOptions hygon_fetch_options(const KdsFlags& f, const cli::Context& ctx) {
  collateral::HygonFetchOptions o;
  o.kds_url = f.kds_url.empty() ? collateral::default_hygon_kds_url() : f.kds_url;
  o.http = http_options(f, ctx);
  return o;
}

collateral::HygonCache hygon_cache_of(const KdsFlags& f) { return collateral::HygonCache(cache_dir(f)); }

collateral::PcsFetchOptions pcs_fetch_options(const KdsFlags& f, const cli::Context& ctx) {
  collateral::PcsFetchOptions o;
  o.pccs = !f.pccs_url.empty();
  o.pcs_url = o.pccs ? f.pccs_url : f.pcs_url.empty() ? collateral::default_pcs_url() : f.pcs_url;
  if (const char* root = std::getenv("CCI_PCS_ROOT_CRL_URL"); root && *root && !o.pccs) o.root_crl_url = root;  // a mirror of Intel's CRL
  while (!o.pcs_url.empty() && o.pcs_url.back() == '/') o.pcs_url.pop_back();
  o.http = http_options(f, ctx);
  return o;
}

collateral::OcspFetchOptions ocsp_fetch_options(const KdsFlags& f, const cli::Context& ctx) {
  collateral::OcspFetchOptions o;
  o.url = f.ocsp_url;
  if (const char* env = std::getenv("CCI_NVIDIA_OCSP_URL"); o.url.empty() && env && *env) o.url = env;
  o.http = http_options(f, ctx);
  o.http.max_attempts = 1;  // a responder that does not answer: exit 3 at once, the verdict says so
  return o;
}

collateral::RimFetchOptions rim_fetch_options(const KdsFlags& f, const cli::Context& ctx) {
  collateral::RimFetchOptions o;
  o.base_url = f.rim_url;
  if (const char* env = std::getenv("CCI_NVIDIA_RIM_URL"); o.base_url.empty() && env && *env) o.base_url = env;
  if (o.base_url.empty()) o.base_url = collateral::kNvidiaRimUrl;
  o.http = http_options(f, ctx);
  return o;
}

}  // namespace cci::tools::verify
