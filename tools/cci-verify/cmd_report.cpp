// cci-verify report FILE: is this SEV-SNP report signed by genuine AMD hardware, through the
// chain to the ARK pinned in cci? (Hygon CSV evidence is recognised and handed to
// cmd_report_csv.cpp.) And cci-verify show FILE: decode it for humans.
#include <filesystem>
#include <memory>

#include "base/file_io.h"
#include "base/hex.h"
#include "cli/inputs.h"
#include "commands.h"
#include "manifest/deployment.h"
#include "policy/snp_policy.h"
#include "snp/cert_table.h"
#include "attest/evidence_file.h"
#include "csv/evidence.h"
#include "report_common.h"
#include "snp_collateral.h"
#include "sim/snp_sim.h"
#include "verify/snp_verify.h"

namespace cci::tools::verify {
namespace {

cli::Json report_json(const snp::Report& r, std::optional<snp::Product> p) {
  const snp::Product layout = p.value_or(snp::Product::kMilan);
  auto tcb = [layout](std::uint64_t raw) {
    snp::Tcb t = snp::decode_tcb(raw, layout);
    cli::Json j{{"raw", hex_u(raw)}};
    if (t.fmc) j["fmc"] = *t.fmc;
    j["bootloader"] = t.bootloader;
    j["tee"] = t.tee;
    j["snp"] = t.snp;
    j["microcode"] = t.microcode;
    return j;
  };
  cli::Json j{{"version", r.version},
              {"guest_svn", r.guest_svn},
              {"policy", {{"raw", hex_u(r.policy)},
                          {"abi_minor", r.policy & 0xff},
                          {"abi_major", (r.policy >> 8) & 0xff},
                          {"smt", ((r.policy >> 16) & 1) != 0},
                          {"migrate_ma", ((r.policy >> 18) & 1) != 0},
                          {"debug", r.debug_allowed()},
                          {"single_socket", ((r.policy >> 20) & 1) != 0}}},
              {"family_id", to_hex(r.family_id)},
              {"image_id", to_hex(r.image_id)},
              {"vmpl", r.vmpl},
              {"signature_algo", r.signature_algo},
              {"current_tcb", tcb(r.current_tcb)},
              {"platform_info", hex_u(r.platform_info)},
              {"signing_key", r.signing_key() == snp::SigningKey::kVcek   ? "VCEK"
                              : r.signing_key() == snp::SigningKey::kVlek ? "VLEK"
                                                                          : "none"},
              {"author_key_en", r.author_key_en()},
              {"mask_chip_key", r.mask_chip_key()},
              {"report_data", to_hex(r.report_data)},
              {"measurement", to_hex(r.measurement)},
              {"host_data", to_hex(r.host_data)},
              {"id_key_digest", to_hex(r.id_key_digest)},
              {"author_key_digest", to_hex(r.author_key_digest)},
              {"report_id", to_hex(r.report_id)},
              {"report_id_ma", to_hex(r.report_id_ma)},
              {"reported_tcb", tcb(r.reported_tcb)}};
  if (r.cpuid_family) {
    j["cpuid"] = {{"family", *r.cpuid_family}, {"model", *r.cpuid_model}, {"stepping", *r.cpuid_stepping}};
  }
  j["chip_id"] = to_hex(r.chip_id);
  j["committed_tcb"] = tcb(r.committed_tcb);
  j["current_firmware"] = std::to_string(r.current_major) + "." + std::to_string(r.current_minor) + "." + std::to_string(r.current_build);
  j["committed_firmware"] =
      std::to_string(r.committed_major) + "." + std::to_string(r.committed_minor) + "." + std::to_string(r.committed_build);
  j["launch_tcb"] = tcb(r.launch_tcb);
  if (r.launch_mit_vector) {
    j["launch_mit_vector"] = hex_u(*r.launch_mit_vector);
    j["current_mit_vector"] = hex_u(*r.current_mit_vector);
  }
  if (p) j["product"] = snp::product_name(*p);
  return j;
}

Result<snp::ReportInput> read_report(const std::string& file, const Bytes& data) {
  auto in = snp::extract_report(data);
  if (!in) {
    auto e = in.error();
    e.message = file + ": " + e.message;
    return e;
  }
  return in;
}

// Hygon CSV when --vendor hygon, or when the input looks like CSV evidence and not SNP.
bool is_csv(const std::string& vendor, const Bytes& data) { return vendor == "hygon" || (vendor == "auto" && csv::looks_like_csv(data)); }

// The host's certificate table (auxblob): VCEK/VLEK as the leaf unless --vek names one, ASK
// and ARK as candidates (the ARK is still checked against the pinned fingerprint).
Status add_cert_table(const std::string& path, ::cci::verify::SnpEvidence& ev) {
  auto data = read_file(path, kMaxEvidenceBytes);
  if (!data) return data.error();
  auto table = snp::parse_cert_table(*data);
  if (!table) return make_error(table.error().code, path + ": " + table.error().message, table.error().field);
  for (const auto& e : *table) {
    if (e.kind == "unknown") continue;
    auto cert = crypto::Certificate::from_der(e.data);
    if (!cert) return make_error(ErrorCode::kMalformed, path + ": " + e.kind + " entry is not a DER certificate", "cert table");
    if ((e.kind == "vcek" || e.kind == "vlek")) {
      if (!ev.vek) ev.vek = std::move(*cert);
    } else {
      ev.ca.push_back(std::move(*cert));
    }
  }
  return {};
}

bool has_chain_for(const ::cci::verify::SnpEvidence& ev, const collateral::SnpCollateralKey& k) {
  const Bytes ark = ::cci::verify::pinned_ark_fingerprint(k.product);
  const std::string ica = (k.vlek ? "SEV-VLEK-" : "SEV-") + std::string(snp::product_name(k.product));
  bool have_ark = false, have_ica = false;
  for (const auto& c : ev.ca) {
    const Bytes fp = c.fingerprint_sha256();
    have_ark |= fp == ark || std::find(ev.simulated_roots.begin(), ev.simulated_roots.end(), fp) != ev.simulated_roots.end();
    have_ica |= c.subject_common_name() == ica;
  }
  return have_ark && have_ica;
}

// Collateral the user did not give comes from the cache, and (unless --offline) from the
// KDS into the cache first. Nothing here is trusted: verify_snp checks it all.
// --trust-sim-root DIR: the simulator's ARK is trusted by fingerprint, and DIR is a trusted
// store for its chain, VCEK and CRL (used when not given otherwise).
Status add_sim_roots(const ReportOptions& o, ::cci::verify::SnpEvidence& ev) {
  for (const auto& dir : o.trust_sim_roots) {
    std::error_code ec;
    if (!std::filesystem::exists(sim::snp_sim_ark_file(dir), ec)) {
      return make_error(ErrorCode::kIo, "--trust-sim-root " + dir + ": no simulated SEV-SNP platform there (cci-run sim init DIR --vendor amd)",
                        "trust-sim-root");
    }
    auto ark = cli::load_certificates({sim::snp_sim_ark_file(dir)});
    if (!ark) return make_error(ark.error().code, "--trust-sim-root " + dir + ": " + ark.error().message, "trust-sim-root");
    ev.simulated_roots.push_back((*ark)[0].fingerprint_sha256());
    auto chain = cli::load_certificates({sim::snp_sim_chain_file(dir)});
    if (!chain) return chain.error();
    for (auto& c : *chain) ev.ca.push_back(std::move(c));
    if (!ev.vek) {
      auto vek = cli::load_certificates({sim::snp_sim_vcek_file(dir)});
      if (!vek) return vek.error();
      ev.vek = std::move((*vek)[0]);
    }
    if (!ev.crl) {
      auto data = read_file(sim::snp_sim_crl_file(dir), 1 << 20);
      if (!data) return data.error();
      auto crl = crypto::Crl::parse(*data);
      if (!crl) return crl.error();
      ev.crl = std::move(*crl);
    }
  }
  return {};
}

// Certificates carried by a cci evidence file are candidates like any other.
Status add_evidence_certificates(const attest::EvidenceFile& e, ::cci::verify::SnpEvidence& ev) {
  auto load = [](const std::string& pem) { return crypto::parse_pem_bundle(ByteView(reinterpret_cast<const std::uint8_t*>(pem.data()), pem.size())); };
  if (e.vek_pem && !ev.vek) {
    auto v = load(*e.vek_pem);
    if (!v) return make_error(v.error().code, "evidence file: vek: " + v.error().message, "vek");
    ev.vek = std::move((*v)[0]);
  }
  if (e.cert_chain_pem) {
    auto c = load(*e.cert_chain_pem);
    if (!c) return make_error(c.error().code, "evidence file: cert_chain: " + c.error().message, "cert_chain");
    for (auto& cert : *c) ev.ca.push_back(std::move(cert));
  }
  return {};
}

void resolve_collateral(const ReportOptions& o, ::cci::verify::SnpEvidence& ev, const cli::Context& ctx) {
  auto report = snp::parse_report(ev.input.report, ev.parse);
  if (!report) return;  // verify_snp names the structure error
  auto key = collateral_key(*report, ev.product);
  if (!key) return;  // verify_snp names the product problem
  const auto cache = cache_of(o.kds);
  std::vector<collateral::SnpItem> need;
  if (!ev.vek && !key->vlek) need.push_back(collateral::SnpItem::kVcek);
  if (!has_chain_for(ev, *key)) need.push_back(collateral::SnpItem::kChain);
  const bool want_crl = !ev.crl && !o.insecure_no_crl;
  if (want_crl) need.push_back(collateral::SnpItem::kCrl);
  if (need.empty()) return;
  if (!o.offline) {
    auto opts = fetch_options(o.kds, ctx);
    for (const auto& r : collateral::fetch_snp_collateral(*key, need, cache, opts)) {
      if (r.error) ctx.warn(std::string("cannot fetch the ") + collateral::snp_item_name(r.item) + ": " + r.error->message);
      else if (r.downloaded) ctx.info(std::string("fetched ") + collateral::snp_item_name(r.item) + " into " + r.file);
    }
    // A cached CRL past its nextUpdate is replaced once (a new one is published before then).
    auto cached = cache.crl(key->product, key->vlek);
    if (want_crl && cached && *cached && (*cached)->next_update() && *(*cached)->next_update() < std::time(nullptr)) {
      opts.refresh = true;
      for (const auto& r : collateral::fetch_snp_collateral(*key, {collateral::SnpItem::kCrl}, cache, opts)) {
        if (r.error) ctx.warn("cannot refresh the stale CRL: " + r.error->message);
      }
    }
  }
  auto warn_bad = [&ctx](const Error& e) { ctx.warn(e.message); };
  if (!ev.vek && !key->vlek) {
    auto v = cache.vcek(*key);
    if (!v) warn_bad(v.error());
    else if (*v) ev.vek = std::move(**v);
  }
  if (!has_chain_for(ev, *key)) {
    auto c = cache.chain(key->product, key->vlek);
    if (!c) warn_bad(c.error());
    else if (*c) for (auto& cert : **c) ev.ca.push_back(std::move(cert));
  }
  if (want_crl) {
    auto c = cache.crl(key->product, key->vlek);
    if (!c) warn_bad(c.error());
    else if (*c) ev.crl = std::move(**c);
  }
}

int run_report(const ReportOptions& o, const cli::Context& ctx) {
  auto data = read_file(o.file, kMaxEvidenceBytes);
  if (!data) return ctx.fail(data.error(), "cci.verify.report.v1");
  return run_report_bytes(o, std::move(*data), ctx);
}

}  // namespace

int run_report_bytes(const ReportOptions& o, Bytes bytes, const cli::Context& ctx) {
  const std::string schema = "cci.verify.report.v1";
  if (o.vendor != "auto" && o.vendor != "amd" && o.vendor != "hygon") {
    return ctx.fail(make_error(ErrorCode::kUsage, "--vendor must be auto, amd or hygon"), schema);
  }
  std::optional<Bytes> data(std::move(bytes));
  std::optional<attest::EvidenceFile> evidence_file;
  if (attest::looks_like_evidence_file(*data)) {
    auto e = attest::parse_evidence_file(*data);
    if (!e) return ctx.fail(make_error(e.error().code, o.file + ": " + e.error().message, e.error().field), schema);
    if (!e->is_snp()) return run_csv_report(o, e->report, ctx, e->hrk);
    *data = e->report;
    evidence_file = std::move(*e);
  }
  if (!evidence_file && is_csv(o.vendor, *data)) return run_csv_report(o, *data, ctx);
  auto at = cli::parse_time(o.at);
  if (!at) return ctx.fail(at.error(), schema);
  ::cci::verify::SnpEvidence ev;
  ev.at = *at;
  if (!o.product.empty()) {
    ev.product = snp::product_from_name(o.product);
    if (!ev.product) return ctx.fail(make_error(ErrorCode::kUsage, "--product must be Milan, Genoa or Turin"), schema);
  }
  auto in = read_report(o.file, *data);
  if (!in) return ctx.fail(in.error(), schema);
  ev.input = std::move(*in);
  if (!o.vek.empty()) {
    auto vek = cli::load_certificates({o.vek});
    if (!vek) return ctx.fail(vek.error(), schema);
    // A VEK file may carry the chain after the leaf (Azure's VCEK + ASK + ARK PEM).
    ev.vek = std::move((*vek)[0]);
    for (size_t i = 1; i < vek->size(); ++i) ev.ca.push_back(std::move((*vek)[i]));
  }
  if (!o.cert_table.empty()) {
    auto st = add_cert_table(o.cert_table, ev);
    if (!st) return ctx.fail(st.error(), schema);
  }
  auto chain = cli::load_certificates(o.cert_chain);
  if (!chain) return ctx.fail(chain.error(), schema);
  for (auto& c : *chain) ev.ca.push_back(std::move(c));
  if (evidence_file) {
    auto st = add_evidence_certificates(*evidence_file, ev);
    if (!st) return ctx.fail(st.error(), schema);
  }
  if (!o.crl.empty()) {
    auto crl_bytes = read_file(o.crl, kMaxEvidenceBytes);
    if (!crl_bytes) return ctx.fail(crl_bytes.error(), schema);
    auto crl = crypto::Crl::parse(*crl_bytes);
    if (!crl) return ctx.fail(make_error(crl.error().code, o.crl + ": " + crl.error().message, "crl"), schema);
    ev.crl = std::move(*crl);
  }
  ev.crl_required = !o.insecure_no_crl;
  if (auto st = add_sim_roots(o, ev); !st) return ctx.fail(st.error(), schema);
  resolve_collateral(o, ev, ctx);

  auto setup = policy_setup(o, "snp");
  if (!setup) return ctx.fail(setup.error(), schema);

  auto v = ::cci::verify::verify_snp(ev);
  ::cci::verify::CheckList findings;
  if (v.passed) {
    policy::Expectations expect{setup->measurements, setup->report_data, o.insecure_any_measurement};
    findings = policy::evaluate_snp_policy(setup->policy, *v.report, *v.product, v.report->signing_key() == snp::SigningKey::kVlek, expect);
  }
  // Missing collateral is "cannot evaluate" (3) only when nothing else failed.
  bool only_missing = v.missing_collateral;
  for (const auto& c : v.checks.items()) {
    if (c.outcome == ::cci::verify::Outcome::kFail && c.id != "snp.vek" && c.id != "snp.crl") only_missing = false;
  }
  Verdict verdict;
  verdict.vendor = "amd";
  verdict.format = snp::input_format_name(ev.input.format);
  verdict.checks = &v.checks;
  verdict.findings = v.passed ? &findings : nullptr;
  verdict.policy_source = setup->source;
  verdict.authentic = v.passed;
  verdict.missing = only_missing;
  verdict.simulated = v.simulated;
  if (v.report) {
    verdict.report = report_json(*v.report, v.product);
    verdict.measurement_hex = to_hex(v.report->measurement);
  }
  if (v.product) verdict.what = (v.simulated ? "" : "genuine ") + std::string(snp::product_name(*v.product)) + " SEV-SNP report";
  const int rc = print_verdict(o, verdict, ctx);
  if (rc == 0 && v.report->debug_allowed() && !ctx.options().json) ctx.warn("the guest policy allows debugging: its memory is not confidential");
  return rc;
}

namespace {

int run_show(const std::string& file, const std::string& product, const cli::Context& ctx) {
  const std::string schema = "cci.verify.show.v1";
  auto data = read_file(file, kMaxEvidenceBytes);
  if (!data) return ctx.fail(data.error(), schema);
  if (is_csv("auto", *data)) return run_csv_show(file, *data, ctx);
  auto in = read_report(file, *data);
  if (!in) return ctx.fail(in.error(), schema);
  auto r = snp::parse_report(in->report);
  if (!r) return ctx.fail(r.error(), schema);
  std::optional<snp::Product> p;
  if (r->cpuid_family) p = snp::product_from_cpuid(*r->cpuid_family, *r->cpuid_model);
  if (!p && !product.empty()) p = snp::product_from_name(product);
  cli::Json j = report_json(*r, p);
  if (ctx.options().json) {
    ctx.out_json(schema, 0, cli::Json{{"result", "ok"}, {"verified", false}, {"format", snp::input_format_name(in->format)}, {"report", j}});
    return 0;
  }
  ctx.info("decoded only: nothing here is verified (use cci-verify report)");
  for (const auto& [k, val] : j.items()) ctx.out(k + ": " + (val.is_string() ? val.get<std::string>() : val.dump()));
  return 0;
}

}  // namespace

void add_report(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<ReportOptions>();
  auto* sub = app.add_subcommand("report", "Verify an AMD SEV-SNP report or Hygon CSV evidence against the vendor's pinned root");
  sub->footer(
      "Input: the 1184-byte report, its hex form, or an Azure HCL report (format detected).\n"
      "Authenticity checks: structure; product from the signed CPUID (v3+) or --product (v2); the ARK among the\n"
      "given certificates must match the fingerprint built into cci; ARK -> ASK/ASVK -> VCEK/VLEK with\n"
      "RSASSA-PSS SHA-384 salt 48, valid at --at; the ARK's CRL (signature, thisUpdate/nextUpdate at --at)\n"
      "does not revoke the ASK/ASVK; leaf kind = SIGNING_KEY; ECDSA P-384 report\n"
      "signature; VEK TCB extensions = REPORTED_TCB; hwID = CHIP_ID; Azure runtime-claims binding.\n"
      "Then the policy (--policy, else the manifest's, else the default: no debug, no migration agent,\n"
      "no VLEK), with every finding listed: TCB minimums, firmware/ABI, VMPL, platform-info bits,\n"
      "mitigations, HOST_DATA, ID/author keys, MEASUREMENT in the manifest, REPORT_DATA / --nonce.\n"
      "Hygon CSV (detected, or --vendor hygon): the HRK pinned in cci, its self-signature, HSK by HRK, CEK by HSK,\n"
      "PEK by CEK (SM2/SM3 with each signer's user ID, usages, key-ID links), the report by the PEK over its\n"
      "raw masked bytes, the HMAC where it survives; HSK/CEK only from --hsk-cek or the cache/KDS for the report's\n"
      "chip ID. A V1 report needs an expected measurement and REPORT_DATA (its fields are masked with an\n"
      "unsigned anonce) unless --insecure-unpinned-v1.\n"
      "Collateral not given (--vek, --cert-table, --cert-chain, --crl; --hrk, --hsk-cek) comes from the cache that cci-verify\n"
      "fetch fills, and, unless --offline, from the AMD KDS (--kds-url) into that cache.\n"
      "Examples:\n"
      "  cci-verify report report.bin                       # VCEK, chain and CRL from the cache or KDS\n"
      "  cci-verify report report.bin --offline --json      # after cci-verify fetch report.bin\n"
      "  cci-verify report report.bin --vek vcek.der --cert-chain ask_ark_milan.pem --crl milan.crl\n"
      "  cci-verify report attestation.bin --product Milan --vek vcek.der --cert-chain cert_chain.pem --at 2024-06-01\n"
      "  cci-verify report report.bin --vek vcek.der --cert-chain chain.pem --manifest cci-manifest.json \\\n"
      "      --manifest-key release.pub --nonce $NONCE\n"
      "  cci-verify report hcl_report.bin --vek vcek_chain.pem --json | jq '.checks[] | select(.status != \"pass\")'");
  sub->add_option("FILE", o->file, "SNP report (raw, hex, Azure HCL) or CSV evidence (raw, page, librats, trustee JSON)")->required();
  sub->add_option("--vendor", o->vendor, "auto (by the input's shape), amd or hygon")->capture_default_str();
  sub->add_option("--trust-sim-root", o->trust_sim_roots,
                  "Accept evidence from the cci-run sim platform in DIR (testing only: the verdict says SIMULATED)");
  sub->add_option("--hrk", o->hrk, "CSV: the Hygon root certificate (832 bytes; must be the pinned one)");
  sub->add_option("--hsk-cek", o->hsk_cek, "CSV: HSK || CEK for the report's chip ID (2916 bytes, as the Hygon KDS serves them)");
  sub->add_option("--event-log", o->event_log, "CSV V2: the CC event log (CCEL) to replay against RTMR1-4 (default: the evidence's)");
  sub->add_option("--vm-id", o->vm_id, "CSV: expected vm_id (32 hex digits; default zero: no launch session)");
  sub->add_option("--vm-version", o->vm_version, "CSV: expected vm_version (32 hex digits; default zero)");
  sub->add_option("--user-pubkey-digest", o->user_pubkey_digest, "CSV: expected user_pubkey_digest (64 hex digits; default zero)");
  sub->add_flag("--insecure-unpinned-v1", o->insecure_unpinned_v1,
                "CSV: accept a V1 report without an expected measurement and REPORT_DATA (its fields are masked with an unsigned anonce)");
  sub->add_option("--vek", o->vek, "VCEK or VLEK certificate (DER or PEM; a PEM may continue with the chain)");
  sub->add_option("--cert-table", o->cert_table, "Extended-report certificate table (auxblob) with VCEK/VLEK, ASK, ARK");
  sub->add_option("--cert-chain", o->cert_chain, "ARK / ASK / ASVK certificates (PEM or DER; repeatable)");
  sub->add_option("--product", o->product, "Milan, Genoa or Turin (required for version 2 reports)");
  sub->add_option("--at", o->at, "Verification time: now, Unix seconds or RFC 3339")->capture_default_str();
  sub->add_option("--policy", o->policy_file, "Policy YAML (keys as the policy section of cci.yaml)");
  sub->add_option("--manifest", o->manifest, "Deployment manifest: its policy and its expected SNP or CSV measurements");
  sub->add_option("--manifest-key,--release-key", o->manifest_key, "Public key that signed the manifest (PEM)");
  sub->add_option("--measurement", o->measurements, "An expected measurement (SNP: 96 hex digits, CSV: 64; repeatable)");
  sub->add_option("--report-data", o->report_data, "Expected REPORT_DATA (128 hex digits)");
  sub->add_option("--nonce", o->nonce, "Expected REPORT_DATA as a nonce, zero-padded to 64 bytes (hex)");
  sub->add_option("--crl", o->crl, "The ARK's CRL (DER or PEM; default: the cache, else the KDS)");
  sub->add_flag("--offline", o->offline, "Never contact the KDS: what is not given comes from the cache only");
  sub->add_flag("--insecure-allow-debug", o->insecure_allow_debug, "Accept guests whose policy allows debugging");
  sub->add_flag("--insecure-no-crl", o->insecure_no_crl, "Do not require a CRL (the ASK/ASVK revocation check is skipped)");
  sub->add_flag("--insecure-any-measurement", o->insecure_any_measurement,
                "Accept ANY launch measurement when none is expected (no --manifest, no --measurement): any VM image passes");
  sub->add_flag("--allow-vlek", o->allow_vlek, "Accept reports signed by a VLEK (cloud-provider key, no chip binding)");
  add_kds_flags(sub, o->kds);
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_report(*o, ctx); }; });

  auto show_file = std::make_shared<std::string>();
  auto show_product = std::make_shared<std::string>();
  auto* show = app.add_subcommand("show", "Decode an SEV-SNP report for humans (nothing is verified)");
  show->footer(
      "Examples:\n"
      "  cci-verify show report.bin\n"
      "  cci-verify show report.hex --json | jq .report.measurement");
  show->add_option("FILE", *show_file, "Report file (raw, hex or Azure HCL)")->required();
  show->add_option("--product", *show_product, "TCB layout for version 2 reports (Milan, Genoa, Turin)");
  show->callback([show_file, show_product, &ctx, &action] {
    action = [show_file, show_product, &ctx] { return run_show(*show_file, *show_product, ctx); };
  });
}

}  // namespace cci::tools::verify
