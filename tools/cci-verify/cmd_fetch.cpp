// cci-verify fetch REPORT: get the VCEK, the certificate chain and the CRL for a report from
// the AMD KDS into the local cache, so that cci-verify report --offline can run without a
// network. Every download is checked (chip, TCB, pinned ARK, CRL signature) before caching.
#include <memory>

#include "base/file_io.h"
#include "appraise/appraise.h"
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
  KdsFlags kds;
};

struct ItemOutcome {
  std::string name, url, file;
  bool downloaded = false;
  std::optional<Error> error;
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
  r.refresh = o.refresh;
  auto fetched = appraise::fetch_collateral(*data, o.vendor, r);
  if (!fetched) return ctx.fail(fetched.error(), schema);
  ctx.info(fetched->summary);
  std::vector<ItemOutcome> out;
  for (auto& x : fetched->items) out.push_back({x.item, x.url, x.file, x.downloaded, x.error});
  return report_items(out, fetched->header, ctx, schema);
}

}  // namespace

void add_fetch(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<FetchOptions>();
  auto* sub = app.add_subcommand("fetch", "Get a report's collateral into the local cache: VCEK, chain and CRL from the AMD KDS, or HRK and HSK||CEK from the Hygon KDS");
  sub->footer(
      "The report says which collateral it needs: the product (signed CPUID, or --product for version 2),\n"
      "the chip ID and REPORTED_TCB (Turin: 8-byte hwID and fmcSPL). Downloads are checked before they are\n"
      "cached: the VCEK's hwID and TCB must be the report's, the chain's root must be the ARK pinned in cci,\n"
      "the CRL must be signed by it. KDS rate limits (HTTP 429) are honoured with Retry-After and back-off.\n"
      "VLEKs are served only to cloud providers: for a VLEK-signed report the chain and CRL are fetched.\n"
      "Hygon CSV evidence (detected, or --vendor hygon): GET /hrk (must be the pinned HRK) and\n"
      "GET /hsk_cek?snumber=CHIP (HSK signed by the HRK, CEK by the HSK) from $CCI_HYGON_KDS_URL or\n"
      "https://cert.hygon.cn; the chip ID is the report's, letters and digits only.\n"
      "Then: cci-verify report REPORT --offline (reads the same cache).\n"
      "Examples:\n"
      "  cci-verify fetch report.bin\n"
      "  cci-verify fetch attestation.bin --product Milan --cache-dir ./collateral --json\n"
      "  cci-verify fetch report.bin --items crl --refresh          # a fresh CRL\n"
      "  cci-verify fetch csv_report.bin                            # Hygon: HRK and HSK||CEK for its chip\n"
      "  CCI_KDS_URL=http://127.0.0.1:8080 cci-verify fetch report.bin   # a KDS mirror");
  sub->add_option("REPORT", o->report, "SNP report (raw, hex, Azure HCL) or CSV evidence")->required();
  sub->add_option("--vendor", o->vendor, "auto (by the input's shape), amd or hygon")->capture_default_str();
  sub->add_option("--product", o->product, "Milan, Genoa or Turin (version 2 reports only)");
  sub->add_option("--items", o->items, "What to get: vcek, cert_chain, crl (AMD) or hrk, hsk_cek (Hygon); default: all")->delimiter(',');
  sub->add_flag("--refresh", o->refresh, "Download even what the cache already holds");
  add_kds_flags(sub, o->kds);
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_fetch(*o, ctx); }; });
}

}  // namespace cci::tools::verify
