// cci-verify fetch REPORT: get the VCEK, the certificate chain and the CRL for a report from
// the AMD KDS into the local cache, so that cci-verify report --offline can run without a
// network. Every download is checked (chip, TCB, pinned ARK, CRL signature) before caching.
#include <memory>

#include "base/file_io.h"
#include "commands.h"
#include "snp_collateral.h"

namespace cci::tools::verify {
namespace {

struct FetchOptions {
  std::string report;
  std::string product;
  std::vector<std::string> items = {"vcek", "cert_chain", "crl"};
  bool refresh = false;
  KdsFlags kds;
};

Result<std::vector<collateral::SnpItem>> parse_items(const std::vector<std::string>& names) {
  std::vector<collateral::SnpItem> out;
  for (const auto& n : names) {
    if (n == "vcek") out.push_back(collateral::SnpItem::kVcek);
    else if (n == "cert_chain" || n == "chain") out.push_back(collateral::SnpItem::kChain);
    else if (n == "crl") out.push_back(collateral::SnpItem::kCrl);
    else return make_error(ErrorCode::kUsage, "--items: unknown item '" + n + "' (vcek, cert_chain, crl)", "items");
  }
  return out;
}

int run_fetch(const FetchOptions& o, const cli::Context& ctx) {
  const std::string schema = "cci.verify.fetch.v1";
  auto items = parse_items(o.items);
  if (!items) return ctx.fail(items.error(), schema);
  std::optional<snp::Product> given;
  if (!o.product.empty()) {
    given = snp::product_from_name(o.product);
    if (!given) return ctx.fail(make_error(ErrorCode::kUsage, "--product must be Milan, Genoa or Turin"), schema);
  }
  auto data = read_file(o.report, 1 << 20);
  if (!data) return ctx.fail(data.error(), schema);
  auto in = snp::extract_report(*data);
  if (!in) return ctx.fail(make_error(in.error().code, o.report + ": " + in.error().message, in.error().field), schema);
  auto report = snp::parse_report(in->report);
  if (!report) return ctx.fail(make_error(report.error().code, o.report + ": " + report.error().message, report.error().field), schema);
  auto key = collateral_key(*report, given);
  if (!key) return ctx.fail(key.error(), schema);

  auto opts = fetch_options(o.kds, ctx);
  opts.refresh = o.refresh;
  const auto cache = cache_of(o.kds);
  ctx.info("KDS " + opts.kds_url + ", cache " + cache.dir() + ": " + snp::product_name(key->product) + (key->vlek ? ", VLEK" : ", VCEK") +
           ", TCB " + snp::tcb_text(key->tcb));
  auto results = collateral::fetch_snp_collateral(*key, *items, cache, opts);

  int rc = 0;
  cli::Json list = cli::Json::array();
  for (const auto& r : results) {
    const char* name = collateral::snp_item_name(r.item);
    cli::Json j{{"item", name}, {"url", r.url}, {"file", r.file}};
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
    if (r.error) ctx.error(std::string(name) + ": " + r.error->message);
    else ctx.out(std::string(r.downloaded ? "downloaded " : "cached     ") + name + "  " + r.file);
  }
  if (ctx.options().json) {
    cli::Json body{{"result", rc == 0 ? "ok" : "fail"},
                   {"product", snp::product_name(key->product)},
                   {"signing_key", key->vlek ? "VLEK" : "VCEK"},
                   {"cache_dir", cache.dir()},
                   {"kds_url", opts.kds_url},
                   {"items", list}};
    ctx.out_json(schema, rc, body);
  }
  return rc;
}

}  // namespace

void add_fetch(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<FetchOptions>();
  auto* sub = app.add_subcommand("fetch", "Get a report's VCEK, certificate chain and CRL from the AMD KDS into the local cache");
  sub->footer(
      "The report says which collateral it needs: the product (signed CPUID, or --product for version 2),\n"
      "the chip ID and REPORTED_TCB (Turin: 8-byte hwID and fmcSPL). Downloads are checked before they are\n"
      "cached: the VCEK's hwID and TCB must be the report's, the chain's root must be the ARK pinned in cci,\n"
      "the CRL must be signed by it. KDS rate limits (HTTP 429) are honoured with Retry-After and back-off.\n"
      "VLEKs are served only to cloud providers: for a VLEK-signed report the chain and CRL are fetched.\n"
      "Then: cci-verify report REPORT --offline (reads the same cache).\n"
      "Examples:\n"
      "  cci-verify fetch report.bin\n"
      "  cci-verify fetch attestation.bin --product Milan --cache-dir ./collateral --json\n"
      "  cci-verify fetch report.bin --items crl --refresh          # a fresh CRL\n"
      "  CCI_KDS_URL=http://127.0.0.1:8080 cci-verify fetch report.bin   # a KDS mirror");
  sub->add_option("REPORT", o->report, "Report file (raw, hex or Azure HCL)")->required();
  sub->add_option("--product", o->product, "Milan, Genoa or Turin (version 2 reports only)");
  sub->add_option("--items", o->items, "What to get: vcek, cert_chain, crl (default: all three)")->delimiter(',');
  sub->add_flag("--refresh", o->refresh, "Download even what the cache already holds");
  add_kds_flags(sub, o->kds);
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_fetch(*o, ctx); }; });
}

}  // namespace cci::tools::verify
