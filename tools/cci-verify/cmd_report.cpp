// cci-verify report FILE: is this report signed by genuine hardware, through the chain to the root
// pinned in cci, and is it the VM we expect? (common/appraise decides, for every vendor.) And
// cci-verify show FILE: decode it for humans.
#include <memory>

#include "appraise/appraise.h"
#include "appraise/event_log_view.h"
#include "base/file_io.h"
#include "base/hex.h"
#include "commands.h"
#include "report_common.h"

namespace cci::tools::verify {
namespace {

int run_report(const ReportOptions& o, const cli::Context& ctx) {
  auto data = read_file(o.file, kMaxEvidenceBytes);
  if (!data) return ctx.fail(data.error(), "cci.verify.report.v1");
  return run_report_bytes(o, std::move(*data), ctx);
}

// One "name: value" line per field, nested objects indented under their name; CPUID values in
// hex as the checks print them; lists of names joined with commas. Long hex wraps at 64 digits.
void print_readable(const cli::Json& j, const std::string& indent, const cli::Context& ctx) {
  for (const auto& [k, v] : j.items()) {
    if (v.is_object()) {
      std::string line = indent + k + ":";
      if (v.contains("raw") && v["raw"].is_string()) line += " " + v["raw"].get<std::string>();
      ctx.out(line);
      cli::Json rest = v;
      rest.erase("raw");
      if (k == "cpuid") {
        for (auto& [ck, cv] : rest.items()) {
          if (cv.is_number_unsigned()) cv = "0x" + to_hex_u64(cv.get<std::uint64_t>());
        }
      }
      print_readable(rest, indent + "  ", ctx);
    } else if (v.is_array() && !v.empty() && v[0].is_object()) {
      // A list of records (a GPU per entry): each as its own indented block.
      for (size_t i = 0; i < v.size(); ++i) {
        ctx.out(indent + k + "[" + std::to_string(i) + "]:");
        if (v[i].is_object()) print_readable(v[i], indent + "  ", ctx);
        else ctx.out(indent + "  " + v[i].dump());
      }
    } else if (v.is_array()) {
      std::string line;
      for (const auto& x : v) line += (line.empty() ? "" : ", ") + (x.is_string() ? x.get<std::string>() : x.dump());
      ctx.out(indent + k + ": " + (line.empty() ? "(none)" : line));
    } else if (v.is_string()) {
      const std::string s = v.get<std::string>();
      if (s.size() > 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos) {
        ctx.out(indent + k + ":");
        for (size_t i = 0; i < s.size(); i += 64) ctx.out(indent + "  " + s.substr(i, 64));
      } else {
        ctx.out(indent + k + ": " + s);
      }
    } else {
      ctx.out(indent + k + ": " + v.dump());
    }
  }
}

void print_event_log(const cli::Json& log, const cli::Context& ctx) {
  ctx.out("event log: " + std::to_string(log["events"].size()) + " events");
  for (const auto& e : log["events"]) {
    std::string line = "  " + (e.contains("register") ? e["register"].get<std::string>() : "index " + std::to_string(e["index"].get<std::uint32_t>()));
    line.resize(std::max<size_t>(line.size() + 1, 9), ' ');
    line += e["type_name"].get<std::string>();
    line.resize(std::max<size_t>(line.size() + 1, 44), ' ');
    for (const auto& d : e["digests"]) {
      if (d["alg"] == "SHA-384" || e["digests"].size() == 1) line += d["digest"].get<std::string>().substr(0, 16) + "…";
    }
    line += "  " + std::to_string(e["data_size"].get<size_t>()) + " bytes";
    if (e.contains("text")) line += "  \"" + e["text"].get<std::string>() + "\"";
    ctx.out(line);
  }
  if (log.contains("replay_error")) ctx.out("replay: " + log["replay_error"].get<std::string>());
  if (log.contains("replayed")) {
    for (const auto& [name, r] : log["replayed"].items()) {
      std::string line = "replayed " + name + ": " + r["value"].get<std::string>();
      if (r.contains("matches_quote")) line += r["matches_quote"].get<bool>() ? "  (= the quote's)" : "  (the quote's differs)";
      ctx.out(line);
    }
  }
}

int run_show(const std::string& file, const std::string& product, const std::string& event_log_file, const cli::Context& ctx) {
  const std::string schema = "cci.verify.show.v1";
  if (file.empty() && event_log_file.empty()) return ctx.fail(make_error(ErrorCode::kUsage, "name a report or evidence FILE, or --event-log", "FILE"), schema);
  std::optional<Bytes> log;
  if (!event_log_file.empty()) {
    auto l = read_file(event_log_file, kMaxEvidenceBytes);
    if (!l) return ctx.fail(l.error(), schema);
    log = std::move(*l);
  }
  cli::Json body{{"result", "ok"}, {"verified", false}};
  appraise::Description d;
  if (!file.empty()) {
    auto data = read_file(file, kMaxEvidenceBytes);
    if (!data) return ctx.fail(data.error(), schema);
    std::optional<snp::Product> p;
    if (!product.empty()) p = snp::product_from_name(product);
    auto r = appraise::describe(*data, p, log ? std::optional<ByteView>(*log) : std::nullopt);
    if (!r) return ctx.fail(make_error(r.error().code, file + ": " + r.error().message, r.error().field), schema);
    d = std::move(*r);
    body["vendor"] = d.vendor;
    body["format"] = d.format;
    body["report"] = d.report;
  } else {
    auto r = appraise::describe_event_log(*log, std::nullopt);
    if (!r) return ctx.fail(make_error(r.error().code, event_log_file + ": " + r.error().message, r.error().field), schema);
    d.event_log = std::move(*r);
  }
  if (!d.event_log.is_null()) body["event_log"] = d.event_log;
  if (ctx.options().json) {
    ctx.out_json(schema, 0, body);
    return 0;
  }
  ctx.info("decoded only: nothing here is verified (use cci-verify report)");
  if (!file.empty()) {
    ctx.out("vendor: " + d.vendor);
    ctx.out("format: " + d.format);
    print_readable(d.report, "", ctx);
  }
  if (!d.event_log.is_null()) print_event_log(d.event_log, ctx);
  return 0;
}

}  // namespace

void add_report(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<ReportOptions>();
  auto* sub = app.add_subcommand("report", "Verify an AMD SEV-SNP report, Hygon CSV evidence, an Intel TDX quote or NVIDIA GPU evidence against the vendor's pinned root");
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
      "Intel TDX quotes v4/v5 (detected, or --vendor intel): the PCK chain to the Intel SGX Root CA pinned in cci, valid\n"
      "at --at; the QE report signed by the PCK key and binding the attestation key; the quote signed by it; with\n"
      "Intel's collateral (--tdx-collateral DIR) the root CA and PCK CRLs, TCB Info and QE Identity (signed by Intel's\n"
      "TCB Signing key over their exact bytes, inside issueDate..nextUpdate), revocation, the QE identity, FMSPC,\n"
      "the TCB level and the TDX module identity; then the policy: no debug TD, TCB status UpToDate, MRTD as\n"
      "--measurement, REPORT_DATA, RTMR0-3 as the CC event log (--event-log) replays. Collateral past nextUpdate,\n"
      "or none: exit 3 (cannot evaluate).\n"
      "NVIDIA GPUs (the attestation SDK's evidence JSON, detected, or --vendor nvidia), per GPU: the device chain to the\n"
      "NVIDIA Device Identity CA pinned in cci, the SPDM 1.1 report signed by the attestation key (ECDSA P-384), the\n"
      "request nonce = --nonce (32 bytes), the FWID as the certificate's; the driver and VBIOS RIMs for the GPU's\n"
      "versions (--driver-rim, --vbios-rim; XML signatures by libxmlsec1, chained to the NVIDIA RIM root pinned in\n"
      "cci); then every active RIM measurement. Revocation: a current OCSP answer (--ocsp, RFC 6960) for the BROM,\n"
      "ICA and identity certificates and each RIM signer, else exit 3 unless --insecure-no-crl; revoked: exit 1;\n"
      "a missing RIM or nonce: exit 3.\n"
      "Collateral not given (--vek, --cert-table, --cert-chain, --crl; --hrk, --hsk-cek) comes from the cache that cci-verify\n"
      "fetch fills, and, unless --offline, from the AMD KDS (--kds-url) into that cache.\n"
      "Examples:\n"
      "  cci-verify report report.bin                       # VCEK, chain and CRL from the cache or KDS\n"
      "  cci-verify report report.bin --offline --json      # after cci-verify fetch report.bin\n"
      "  cci-verify report report.bin --vek vcek.der --cert-chain ask_ark_milan.pem --crl milan.crl\n"
      "  cci-verify report attestation.bin --product Milan --vek vcek.der --cert-chain cert_chain.pem --at 2024-06-01\n"
      "  cci-verify report report.bin --vek vcek.der --cert-chain chain.pem --deployment cci-manifest.json \\\n"
      "      --release-key release.pub --nonce $NONCE\n"
      "  cci-verify report report.bin --measurement $MEAS --host-data $HOSTDATA --min-tcb bootloader=3,tee=0,snp=8,microcode=115 --vmpl 0\n"
      "  cci-verify report quote.dat --tdx-collateral pcs/ --measurement $MRTD --nonce $NONCE --at 2025-07-01T00:00:00Z\n"
      "  cci-verify report hcl_report.bin --vek vcek_chain.pem --json | jq '.checks[] | select(.status != \"pass\")'\n"
      "  cci-verify report gpu_evidence.json --nonce $NONCE --driver-rim NV_GPU_DRIVER_GH100_550.90.07.xml \\\n"
      "      --vbios-rim NV_GPU_VBIOS_1010_0200_882_96009F0001.xml --ocsp brom.der --ocsp ica.der --ocsp identity.der \\\n"
      "      --ocsp rim_signer.der");
  sub->add_option("FILE", o->file, "SNP report (raw, hex, Azure HCL), CSV evidence (raw, page, librats, trustee JSON), a TDX quote (v4, v5) or NVIDIA GPU evidence (the attestation SDK's JSON)")->required();
  sub->add_option("--vendor", o->vendor, "auto (by the input's shape), amd, hygon, intel or nvidia")->capture_default_str()->check(CLI::IsMember({"auto", "amd", "hygon", "intel", "nvidia"}));
  sub->add_option("--trust-sim-root", o->trust_sim_roots,
                  "Accept evidence from the cci-run sim platform in DIR (testing only: the verdict says SIMULATED)");
  sub->add_option("--hrk", o->hrk, "CSV: the Hygon root certificate (832 bytes; must be the pinned one)");
  sub->add_option("--hsk-cek", o->hsk_cek, "CSV: HSK || CEK for the report's chip ID (2916 bytes, as the Hygon KDS serves them)");
  sub->add_option("--tdx-collateral", o->tdx_collateral,
                  "TDX: Intel's collateral for the quote's FMSPC, as the PCS serves it, in DIR: tcb_info.json, qe_identity.json, "
                  "tcb_info_issuer_chain.pem, qe_identity_issuer_chain.pem, pck_crl.der, root_ca_crl.der");
  sub->add_option("--azure-hcl", o->azure_hcl,
                  "TDX on Azure: the HCL report (vTPM NV index 0x01400001) whose runtime data the quote's REPORT_DATA binds "
                  "(checked as tdx.azure_hcl_binding; its claims are printed)");
  sub->add_option("--driver-rim", o->driver_rims, "NVIDIA GPUs: a driver RIM (SWID XML from NVIDIA's RIM service; repeatable: the one for each GPU's driver is used)");
  sub->add_option("--vbios-rim", o->vbios_rims, "NVIDIA GPUs: a VBIOS RIM (repeatable: the one for each GPU's VBIOS is used)");
  sub->add_option("--ocsp", o->ocsp,
                  "NVIDIA GPUs: an OCSP response (DER, RFC 6960) for a certificate of a device chain or a RIM signer's chain "
                  "(repeatable; each is matched by its CertID)");
  sub->add_option("--event-log", o->event_log, "CSV V2 and TDX: the CC event log (CCEL) to replay against the RTMRs (CSV default: the evidence's)");
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
  cli::add_alias(sub, sub->add_option("--deployment", o->manifest, "Deployment manifest: its policy and its expected SNP or CSV measurements"), "--manifest", o->manifest);
  cli::add_alias(sub, sub->add_option("--release-key", o->manifest_key, "Public key that signed the manifest (PEM)"), "--manifest-key", o->manifest_key);
  cli::add_keyless_flags(sub, o->release_keyless, "release-");
  sub->add_option("--measurement", o->measurements, "An expected measurement (SNP: 96 hex digits, CSV: 64; repeatable)");
  sub->add_option("--report-data", o->report_data, "Expected REPORT_DATA (128 hex digits)");
  sub->add_option("--nonce", o->nonce, "Expected REPORT_DATA as a nonce, zero-padded to 64 bytes (hex; NVIDIA GPUs: the 32-byte request nonce)");
  sub->add_option("--crl", o->crl, "The ARK's CRL (DER or PEM; default: the cache, else the KDS)");
  sub->add_flag("--offline", o->offline, "Never contact the KDS: what is not given comes from the cache only");
  sub->add_flag("--insecure-allow-debug", o->insecure_allow_debug, "Accept guests whose policy allows debugging");
  sub->add_flag("--insecure-no-crl", o->insecure_no_crl, "Do not require a CRL (the ASK/ASVK revocation check is skipped; NVIDIA GPUs: no OCSP)");
  sub->add_flag("--insecure-any-measurement", o->insecure_any_measurement,
                "Accept ANY launch measurement when none is expected (no --deployment, no --measurement): any VM image passes");
  sub->add_flag("--allow-vlek", o->allow_vlek, "Accept reports signed by a VLEK (cloud-provider key, no chip binding)");
  add_field_flags(sub, *o);
  add_kds_flags(sub, o->kds);
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_report(*o, ctx); }; });

  auto show_file = std::make_shared<std::string>();
  auto show_product = std::make_shared<std::string>();
  auto show_log = std::make_shared<std::string>();
  auto* show = app.add_subcommand("show", "Decode an SEV-SNP report, Hygon CSV evidence, an Intel TDX quote or a CC event log for humans (nothing is verified)");
  show->footer(
      "Reads what report reads: SEV-SNP raw, hex or Azure HCL; Hygon CSV raw, page, librats or trustee\n"
      "evidence; Intel TDX quotes v4/v5; and the cci.evidence.v1 JSON that cci-run attest writes.\n"
      "--event-log lists a CC event log (TCG2 crypto-agile, a TDX guest's CCEL): each event's register, type,\n"
      "digests, size and text, and the RTMRs it replays to; with a TDX quote, whether each equals the quote's.\n"
      "Examples:\n"
      "  cci-verify show report.bin\n"
      "  cci-verify show evidence.json\n"
      "  cci-verify show report.hex --json | jq .report.measurement\n"
      "  cci-verify show quote.dat --event-log /sys/firmware/acpi/tables/data/CCEL\n"
      "  cci-verify show --event-log ccel.bin --json | jq '.event_log.events[] | select(.type_name == \"EV_IPL\") | .text'");
  show->add_option("FILE", *show_file, "Report or evidence file (- for standard input); optional with --event-log");
  show->add_option("--product", *show_product, "TCB layout for version 2 reports (Milan, Genoa, Turin)");
  show->add_option("--event-log", *show_log, "A CC event log (CCEL) to list and replay");
  show->callback([show_file, show_product, show_log, &ctx, &action] {
    action = [show_file, show_product, show_log, &ctx] { return run_show(*show_file, *show_product, *show_log, ctx); };
  });
}

}  // namespace cci::tools::verify
