// cci-verify fetch REPORT: get the VCEK, the certificate chain and the CRL for a report from
// the AMD KDS into the local cache, so that cci-verify report --offline can run without a
// network. Every download is checked (chip, TCB, pinned ARK, CRL signature) before caching.
#include <cctype>
#include <filesystem>
#include <memory>

#include "base/file_io.h"
#include "crypto/x509.h"
#include "appraise/appraise.h"
#include "cli/inputs.h"
#include "commands.h"
#include "kds_flags.h"

namespace cci::tools::verify {
namespace {

struct FetchOptions {
  std::string report;
  std::string vendor = "auto";
  std::string product;
  std::vector<std::string> items;  // default: every item of the vendor
  bool refresh = false;
  std::string output_dir;         // copies of the fetched items, as snpguest fetch writes them
  std::string encoding = "pem";   // pem | der (AMD items; Hygon's are their own binary format)
  std::string at = "now";         // TDX: the time the fetched collateral must be current at
  KdsFlags kds;
  std::vector<std::string> rims;             // NVIDIA GPUs: RIMs whose signers' OCSP answers to get too
  std::vector<std::string> trust_sim_roots;  // ... read with a simulated RIM root
};

struct ItemOutcome {
  std::string name, url, file;
  bool downloaded = false;
  std::optional<Error> error;
  Bytes data;  // the checked bytes
};

// Lists what happened to each item; the exit code is the first failure's.
int report_items(const std::vector<ItemOutcome>& results, cli::Json header, const cli::Context& ctx, const std::string& schema) {
  int rc = 0;
  cli::Json list = cli::Json::array();
  for (const auto& r : results) {
    cli::Json j{{"item", r.name}, {"url", r.url}, {"file", r.file}};
    if (r.error) {
      j["status"] = "failed";
      j["reason"] = error_code_name(r.error->code);
      j["message"] = r.error->message;
      if (rc == 0) rc = cli::to_int(cli::exit_code_for(r.error->code));
    } else {
      j["status"] = r.downloaded ? "downloaded" : "cached";
    }
    list.push_back(j);
    if (ctx.options().json) continue;
    if (r.error) ctx.error(r.name + ": " + r.error->message);
    else ctx.out(std::string(r.downloaded ? "downloaded " : "cached     ") + r.name + "  " + r.file);
  }
  if (ctx.options().json) {
    header["result"] = rc == 0 ? "ok" : "fail";
    header["items"] = list;
    ctx.out_json(schema, rc, header);
  }
  return rc;
}

// An item's checked bytes (as fetch returned them, not the cache file read again) in the chosen
// encoding, as (file name, bytes): AMD: vcek, ask and ark (the cert_chain split), crl; Hygon:
// hrk.cert, hsk_cek.cert unchanged.
Result<std::vector<std::pair<std::string, Bytes>>> export_item(const std::string& item, const Bytes& data, const std::string& enc) {
  std::vector<std::pair<std::string, Bytes>> out;
  auto cert = [&](const std::string& stem, const crypto::Certificate& c) {
    if (enc == "der") {
      out.emplace_back(stem + ".der", c.der());
    } else {
      const std::string p = c.pem();
      out.emplace_back(stem + ".pem", Bytes(p.begin(), p.end()));
    }
  };
  if (item == "vcek" || item == "vlek") {
    CCI_ASSIGN(c, crypto::Certificate::from_der(data));
    cert(item, c);
  } else if (item == "cert_chain") {
    CCI_ASSIGN(chain, crypto::parse_pem_bundle(data));
    if (chain.size() != 2) return make_error(ErrorCode::kMalformed, "cert_chain: expected ASK (or ASVK) and ARK", "cert_chain");
    cert("ask", chain[0]);
    cert("ark", chain[1]);
  } else if (item == "crl") {
    CCI_ASSIGN(crl, crypto::Crl::parse(data));
    if (enc == "der") {
      out.emplace_back("crl.der", crl.der());
    } else {
      const std::string p = crl.pem();
      out.emplace_back("crl.pem", Bytes(p.begin(), p.end()));
    }
  } else if (item.rfind("rim ", 0) == 0) {
    out.emplace_back(item.substr(4) + ".xml", data);  // the id: letters, digits, '_', '.', '-' only
  } else if (item.rfind("ocsp ", 0) == 0) {
    // NVIDIA: an OCSP answer, named after the certificate it is about.
    std::string name;
    for (char c : item.substr(5)) name.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
    out.emplace_back(name + ".ocsp.der", data);
  } else if (item == "tcb_info" || item == "qe_identity") {
    out.emplace_back(item + ".json", data);
  } else if (item == "pck_crl" || item == "root_ca_crl") {
    out.emplace_back(item + ".der", data);
  } else {
    out.emplace_back(item + ".cert", data);
  }
  return out;
}

int run_fetch(const FetchOptions& o, const cli::Context& ctx) {
  const std::string schema = "cci.verify.fetch.v1";
  auto data = read_file(o.report, 4 << 20);
  if (!data) return ctx.fail(data.error(), schema);
  appraise::FetchRequest r;
  r.label = o.report;
  r.items = o.items;
  if (!o.product.empty()) {
    r.product = snp::product_from_name(o.product);
    if (!r.product) return ctx.fail(make_error(ErrorCode::kUsage, "--product must be Milan, Genoa or Turin"), schema);
  }
  r.cache_dir = cache_of(o.kds).dir();
  r.amd = fetch_options(o.kds, ctx);
  r.hygon = hygon_fetch_options(o.kds, ctx);
  r.intel = pcs_fetch_options(o.kds, ctx);
  auto at = cli::parse_time(o.at);
  if (!at) return ctx.fail(make_error(ErrorCode::kUsage, "--at: " + at.error().message, "at"), schema);
  r.intel.at = *at;
  r.tdx_early = o.kds.tdx_update == "early";
  r.nvidia = ocsp_fetch_options(o.kds, ctx);
  r.nvidia_rims = rim_fetch_options(o.kds, ctx);
  r.gpu_rims = o.rims;
  r.trust_sim_roots = o.trust_sim_roots;
  r.refresh = o.refresh;
  auto fetched = appraise::fetch_collateral(*data, o.vendor, r);
  if (!fetched) return ctx.fail(fetched.error(), schema);
  ctx.info(fetched->summary);
  std::vector<ItemOutcome> out;
  for (auto& x : fetched->items) out.push_back({x.item, x.url, x.file, x.downloaded, x.error, std::move(x.data)});
  if (!o.output_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o.output_dir, ec);
    if (ec) return ctx.fail(make_error(ErrorCode::kIo, "cannot create " + o.output_dir + ": " + ec.message(), "output-dir"), schema);
    cli::Json written = cli::Json::array();
    for (auto& item : out) {
      if (item.error) continue;
      auto files = export_item(item.name, item.data, o.encoding);
      if (!files) {
        item.error = files.error();
        continue;
      }
      for (const auto& [name, bytes] : *files) {
        const std::string path = o.output_dir + "/" + name;
        if (auto st = write_file_atomic(path, bytes, 0644); !st) return ctx.fail(st.error(), schema);
        written.push_back(path);
        ctx.info("wrote " + path);
      }
    }
    fetched->header["output_dir"] = o.output_dir;
    fetched->header["encoding"] = o.encoding;
    fetched->header["written"] = written;
  }
  return report_items(out, fetched->header, ctx, schema);
}

}  // namespace

void add_fetch(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<FetchOptions>();
  auto* sub = app.add_subcommand("fetch", "Get a report's collateral into the local cache: VCEK, chain and CRL from the AMD KDS, HRK and HSK||CEK from the Hygon KDS, TCB Info, QE Identity and CRLs from Intel's PCS, or RIMs and OCSP answers for NVIDIA GPUs");
  sub->footer(
      "The report says which collateral it needs: the product (signed CPUID, or --product for version 2),\n"
      "the chip ID and REPORTED_TCB (Turin: 8-byte hwID and fmcSPL). Downloads are checked before they are\n"
      "cached: the VCEK's hwID and TCB must be the report's, the chain's root must be the ARK pinned in cci,\n"
      "the CRL must be signed by it. KDS rate limits (HTTP 429) are honoured with Retry-After and back-off.\n"
      "VLEKs are served only to cloud providers: for a VLEK-signed report the chain and CRL are fetched.\n"
      "Hygon CSV evidence (detected, or --vendor hygon): GET /hrk (must be the pinned HRK) and\n"
      "GET /hsk_cek?snumber=CHIP (HSK signed by the HRK, CEK by the HSK) from $CCI_HYGON_KDS_URL or\n"
      "https://cert.hygon.cn; the chip ID is the report's, letters and digits only.\n"
      "Intel TDX quotes: GET {pcs}/tdx/certification/v4/tcb?fmspc=F, .../qe/identity, {pcs}/sgx/certification/v4/pckcrl\n"
      "?ca=platform|processor (the quote's PCK CA) with their issuer chains from the answers' headers, and the Intel\n"
      "SGX Root CA CRL; the set is cached only when the verifier's collateral checks pass on it for this quote\n"
      "(signed by Intel's TCB Signing key under the pinned root, CRLs current, the quote's FMSPC). The cache entry\n"
      "(printed) is a directory cci-verify report --tdx-collateral takes. --update early: Intel's early TCB collateral.\n"
      "NVIDIA GPU evidence (the attestation SDK's JSON): the driver and VBIOS RIMs for each GPU's versions from NVIDIA's\n"
      "RIM service (--rim-url; cached once signed and chained to the pinned RIM root), and OCSP answers about each GPU's\n"
      "BROM, ICA and identity certificates and the RIM signers (also of RIMs given with --driver-rim/--vbios-rim), asked\n"
      "with a fresh nonce of the responder each certificate names (--ocsp-url: one for all) and cached once signed by the\n"
      "issuer (or its appointed responder), the nonce echoed and current now.\n"
      "Then: cci-verify report REPORT --offline (reads the same cache).\n"
      "Examples:\n"
      "  cci-verify fetch report.bin\n"
      "  cci-verify fetch attestation.bin --product Milan --cache-dir ./collateral --json\n"
      "  cci-verify fetch report.bin --items crl --refresh          # a fresh CRL\n"
      "  cci-verify fetch evidence.json --output-dir ./certs --encoding der   # evidence from cci-run attest\n"
      "  cci-verify fetch csv_report.bin                            # Hygon: HRK and HSK||CEK for its chip\n"
      "  cci-verify fetch quote.dat --pccs-url https://pccs.internal:8081   # TDX, from a PCCS\n"
      "  CCI_KDS_URL=http://127.0.0.1:8080 cci-verify fetch report.bin   # a KDS mirror\n"
      "  cci-verify fetch gpu_evidence.json                         # NVIDIA GPUs: RIMs and OCSP answers");
  sub->add_option("REPORT", o->report, "SNP report (raw, hex, Azure HCL), CSV evidence, TDX quote, or cci.evidence.v1 JSON (cci-run attest)")->required();
  sub->add_option("--vendor", o->vendor, "auto (by the input's shape), amd, hygon, intel or nvidia")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "amd", "hygon", "intel", "nvidia"}));
  sub->add_option("--driver-rim,--vbios-rim", o->rims, "NVIDIA GPUs: a RIM whose signer's OCSP answers to get too (repeatable)");
  sub->add_option("--trust-sim-root", o->trust_sim_roots, "NVIDIA GPUs: read the RIMs of the cci-run sim platform in DIR (testing only)");
  sub->add_option("--product", o->product, "Milan, Genoa or Turin (version 2 reports only)");
  sub->add_option("--items", o->items, "What to get: vcek, cert_chain, crl (AMD), hrk, hsk_cek (Hygon), tcb_info, qe_identity, pck_crl, root_ca_crl (Intel) or rim, ocsp (NVIDIA); default: all")->delimiter(',');
  sub->add_flag("--refresh", o->refresh, "Download even what the cache already holds");
  sub->add_option("--output-dir", o->output_dir,
                  "Also write the items into DIR (AMD: vcek, ask, ark, crl; Hygon: hrk.cert, hsk_cek.cert), as snpguest fetch does");
  sub->add_option("--encoding", o->encoding, "pem or der, for --output-dir (AMD items)")
      ->capture_default_str()
      ->check(CLI::IsMember({"pem", "der"}));
  sub->add_option("--at", o->at, "TDX: the time Intel's collateral must be current at before it is cached; NVIDIA: the time a RIM's signer must be valid at (now, Unix seconds or RFC 3339)")
      ->capture_default_str();
  add_kds_flags(sub, o->kds);
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_fetch(*o, ctx); }; });
}

}  // namespace cci::tools::verify
