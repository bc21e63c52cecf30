// Appraisal: evidence in, a typed verdict out. One pipeline for every TEE vendor:
//   1. recognise the input (a cci.evidence.v1 file, or a vendor's own raw or enveloped form)
//      and pick the vendor's Appraiser from one table (appraisers());
//   2. extract the evidence, once;
//   3. gather what the evidence lacks through a CollateralSource (the cache, a key server, files,
//      or a test double): candidates only, nothing here is trusted;
//   4. verify authenticity (common/verify: chains to pinned roots, signatures, chip binding);
//   5. evaluate the policy (common/policy) on the verified report only.
// The Verdict says what was checked, what the policy found, and why it failed: rejected, or
// missing collateral; exit codes follow from Verdict::outcome without looking at check names.
// Malformed input and usage errors are Errors, not verdicts.
//
// Adding a vendor: a folder for its formats and verification, an Appraiser here, one entry in
// appraisers() (docs/architecture.md, "Adding a TEE vendor").
#pragma once

#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "collateral/amd_kds.h"
#include "collateral/hygon_kds.h"
#include "collateral/intel_pcs.h"
#include "collateral/nvidia_ocsp.h"
#include "collateral/nvidia_rim.h"
#include "crypto/x509.h"
#include "policy/snp_policy.h"
#include "policy/tdx_policy.h"
#include "snp/report.h"
#include "verify/check.h"
#include "verify/tdx_verify.h"

namespace cci::appraise {

using Json = nlohmann::ordered_json;

// What the relying party expects of the guest, for any vendor.
struct Expectations {
  Json policy = policy::default_policy();
  std::string policy_source = "built-in default";
  std::vector<std::string> named_fields;  // policy keys set by field flags (policy/policy_keys.h), not by a file
  std::map<std::string, std::vector<Bytes>> measurements;  // by platform: "snp" (48 bytes), "csv" (32), "tdx" (MRTD, 48)
  std::vector<policy::TdxReference> tdx_references;        // a deployment manifest's TDX launches (MRTD with RTMRs, MRCONFIGID)
  std::vector<std::string> measurement_flags;  // --measurement HEX, for whichever platform the evidence is
  std::optional<Bytes> report_data;                        // 64 bytes
  std::optional<size_t> nonce_size;                        // when report_data is a --nonce zero-padded: its own size
  bool insecure_any_measurement = false;                   // none expected: accept any image, by name
  // Hygon CSV: the launch-session values (zero: no session), V1 pins waived by name, the CC event log.
  Bytes vm_id = Bytes(16, 0), vm_version = Bytes(16, 0), user_pubkey_digest = Bytes(32, 0);
  bool insecure_unpinned_v1 = false;
  std::optional<Bytes> event_log;
};

// Collateral files the user handed over: candidates, verified like any other. Read by the
// appraiser of the evidence's vendor (after it refused flags that are not its own).
struct GivenCollateral {
  std::string vek;                      // SNP: the VCEK/VLEK first, maybe followed by its chain (PEM or DER)
  std::vector<std::string> cert_chain;  // SNP: ARK / ASK / ASVK
  std::string cert_table;               // SNP: an extended-report certificate table (auxblob)
  std::string crl;                      // SNP: the ARK's CRL
  std::string hrk, hsk_cek;             // CSV
  std::string tdx_collateral;           // TDX: a directory of the PCS's files for the quote's FMSPC
  std::string azure_hcl;                // TDX on Azure: the HCL report (file) whose runtime data the quote binds
  std::vector<std::string> gpu_driver_rims, gpu_vbios_rims;  // NVIDIA GPUs: RIM files (the one for each GPU's version is used)
  std::vector<std::string> gpu_ocsp;    // NVIDIA GPUs: OCSP responses (DER) for the device chains and RIM signers
};

struct Request {
  Bytes evidence;
  std::string label;             // the file name or URL, in messages
  std::string vendor = "auto";   // auto (by the input's shape) | amd | hygon | intel | nvidia
  std::optional<snp::Product> product;  // SNP version 2 reports carry none
  std::time_t at = 0;
  bool crl_required = true;      // false only when the user named --insecure-no-crl (NVIDIA GPUs: no OCSP status required)
  std::vector<std::string> trust_sim_roots;  // simulated platforms trusted by name (cci-run sim)
  GivenCollateral given;
  Expectations expect;
};

enum class Outcome { kAccepted, kRejected, kMissingCollateral };

struct Verdict {
  std::string vendor;    // "amd" | "hygon"
  std::string tee_name;  // "SEV-SNP" | "Hygon CSV", for messages
  std::string format;    // the input's form, e.g. "raw", "cci.evidence.v1", "librats"
  verify::CheckList checks;                    // authenticity, in order
  std::optional<verify::CheckList> findings;   // the policy; absent when authenticity failed
  std::string policy_source;
  bool authentic = false;
  bool simulated = false;  // the chain ends in a simulated root (trusted by name): no hardware
  Outcome outcome = Outcome::kRejected;
  Json report;                  // decoded fields of the (verified, when authentic) report
  std::string what;             // "genuine Milan SEV-SNP report", "SIMULATED Hygon CSV V1 report ..."
  std::string measurement_hex;
  std::vector<std::string> warnings;  // for an accepted verdict the user should still read
};

// Things to tell the user on the way (a download, a cache entry dropped); never needed for the verdict.
struct Notes {
  std::function<void(const std::string&)> info = [](const std::string&) {};
  std::function<void(const std::string&)> warn = [](const std::string&) {};
};

// Where collateral the evidence and the user did not give comes from. Every answer is a
// candidate: the verifier checks it against the pinned roots.
class CollateralSource {
 public:
  virtual ~CollateralSource() = default;
  using SnpKey = collateral::SnpCollateralKey;
  virtual std::optional<crypto::Certificate> snp_vek(const SnpKey& k, const Notes& n) = 0;
  virtual std::vector<crypto::Certificate> snp_chain(const SnpKey& k, const Notes& n) = 0;
  virtual std::optional<crypto::Crl> snp_crl(const SnpKey& k, const Notes& n) = 0;
  virtual std::optional<Bytes> csv_hrk(const Notes& n) = 0;
  // HSK || CEK for a chip, with a description of the store it came from.
  virtual std::optional<std::pair<Bytes, std::string>> csv_hsk_cek(const std::string& chip_id, const Notes& n) = 0;
  // Intel's TDX collateral for the quote's FMSPC and PCK CA (its unverified PCK chain is only the
  // lookup key); none from sources that keep none.
  virtual std::optional<verify::TdxCollateral> tdx_collateral(ByteView quote, const Notes& n) {
    (void)quote;
    (void)n;
    return std::nullopt;
  }
  // OCSP answers (DER) about an NVIDIA GPU certificate issued by `issuer`; none from sources that
  // keep none.
  virtual std::vector<Bytes> nvgpu_ocsp(const crypto::Certificate& cert, const crypto::Certificate& issuer, const Notes& n) {
    (void)cert;
    (void)issuer;
    (void)n;
    return {};
  }
  // An NVIDIA RIM (SWID XML) by its RIM-service id; none from sources that keep none.
  virtual std::optional<Bytes> nvgpu_rim(const std::string& id, const Notes& n) {
    (void)id;
    (void)n;
    return std::nullopt;
  }
};

// No collateral beyond what was given (tests, and callers that must not touch disk or network).
class NoCollateral final : public CollateralSource {
 public:
  std::optional<crypto::Certificate> snp_vek(const SnpKey&, const Notes&) override { return std::nullopt; }
  std::vector<crypto::Certificate> snp_chain(const SnpKey&, const Notes&) override { return {}; }
  std::optional<crypto::Crl> snp_crl(const SnpKey&, const Notes&) override { return std::nullopt; }
  std::optional<Bytes> csv_hrk(const Notes&) override { return std::nullopt; }
  std::optional<std::pair<Bytes, std::string>> csv_hsk_cek(const std::string&, const Notes&) override { return std::nullopt; }
};

// Collateral held in memory, already parsed: a test double, and cci-bench verify (which times
// verification, not file reads). Every answer is still only a candidate.
class FixedCollateral final : public CollateralSource {
 public:
  std::optional<crypto::Certificate> vek;
  std::vector<crypto::Certificate> chain;
  std::optional<crypto::Crl> crl;
  std::optional<Bytes> hrk;
  std::optional<Bytes> hsk_cek;
  std::string hsk_cek_source = "memory";
  std::optional<verify::TdxCollateral> tdx;

  std::optional<crypto::Certificate> snp_vek(const SnpKey&, const Notes&) override {
    return vek ? std::optional<crypto::Certificate>(vek->clone()) : std::nullopt;
  }
  std::vector<crypto::Certificate> snp_chain(const SnpKey&, const Notes&) override {
    std::vector<crypto::Certificate> out;
    for (const auto& c : chain) out.push_back(c.clone());
    return out;
  }
  std::optional<crypto::Crl> snp_crl(const SnpKey&, const Notes&) override {
    return crl ? std::optional<crypto::Crl>(crl->clone()) : std::nullopt;
  }
  std::optional<Bytes> csv_hrk(const Notes&) override { return hrk; }
  std::optional<std::pair<Bytes, std::string>> csv_hsk_cek(const std::string&, const Notes&) override {
    if (!hsk_cek) return std::nullopt;
    return std::make_pair(*hsk_cek, hsk_cek_source);
  }
  std::optional<verify::TdxCollateral> tdx_collateral(ByteView, const Notes&) override { return tdx; }
};

// The evidence after recognition: its vendor's raw report plus what travelled with it.
struct Extracted {
  std::string format;
  Bytes report;                         // the vendor's report, as the vendor's parser takes it
  std::vector<crypto::Certificate> certificates;  // candidates carried by the evidence
  std::optional<crypto::Certificate> vek;         // SNP: a leaf carried by the evidence
  std::optional<Bytes> hrk;                       // CSV: a root carried by the evidence (checked against the pin)
  std::optional<Bytes> event_log;                 // TDX: the CC event log carried by the evidence (replayed, never trusted)
  bool from_evidence_file = false;
};

// cci-verify fetch: a report's collateral into the cache, item by item.
struct FetchRequest {
  std::string label;
  std::vector<std::string> items;  // the vendor's item names; empty: all
  std::optional<snp::Product> product;
  std::string cache_dir;           // empty: the default cache
  collateral::SnpFetchOptions amd;
  collateral::HygonFetchOptions hygon;
  collateral::PcsFetchOptions intel;
  bool tdx_early = false;  // Intel's early TCB update collateral (update=early)
  collateral::OcspFetchOptions nvidia;     // NVIDIA GPUs: OCSP answers
  collateral::RimFetchOptions nvidia_rims;  // NVIDIA GPUs: the RIM service
  std::vector<std::string> gpu_rims;       // NVIDIA GPUs: RIM files whose signers' answers to get too
  std::vector<std::string> trust_sim_roots;  // NVIDIA GPUs: a simulated RIM root to read the sim's RIMs with
  bool refresh = false;
};
struct FetchedItem {
  std::string item, url, file;
  bool downloaded = false;
  std::optional<Error> error;
  Bytes data;  // without error: the checked bytes (what the cache file holds), for exporting them
};
struct FetchReport {
  std::string summary;  // what is fetched for what, for humans
  Json header;          // vendor, product/chip, cache_dir, key server URL
  std::vector<FetchedItem> items;
};

class Appraiser {
 public:
  virtual ~Appraiser() = default;
  virtual const char* vendor() const = 0;           // "amd", "hygon"
  virtual const char* tee() const = 0;              // "snp", "csv": cci.evidence.v1 "tee" and manifest platform
  virtual bool recognises(ByteView raw) const = 0;  // a raw input of this vendor's (not a cci.evidence.v1 file)
  virtual Result<Verdict> appraise(Extracted in, const Request& r, CollateralSource& c, const Notes& n) const = 0;
  // The key servers' collateral for this input, into the cache (cci-verify fetch).
  virtual Result<FetchReport> fetch(ByteView raw, const FetchRequest& r) const = 0;
  // The report decoded for humans, verified or not (cci-verify show).
  virtual Result<Json> describe(ByteView raw, std::optional<snp::Product> product, std::string& format) const = 0;
};

// Intel's TDX collateral from a directory of the PCS's files (tcb_info.json, qe_identity.json,
// tcb_info_issuer_chain.pem, qe_identity_issuer_chain.pem, pck_crl.der, root_ca_crl.der): none
// when `dir` is empty or a file is missing (said through `n`); unreadable files are errors.
Result<std::optional<verify::TdxCollateral>> read_tdx_collateral(const std::string& dir, const Notes& n = {});

// The vendors, in the order inputs are recognised.
const std::vector<const Appraiser*>& appraisers();
const Appraiser* appraiser_for_vendor(const std::string& vendor);  // "amd" | "hygon"; nullptr otherwise

Result<Verdict> appraise(const Request& r, CollateralSource& c, const Notes& n = {});

Result<FetchReport> fetch_collateral(ByteView input, const std::string& vendor, const FetchRequest& r);

// cci-verify show: the report decoded, nothing verified; with a CC event log, its events and the
// registers it replays to (appraise/event_log_view.h), compared with a TDX quote's RTMRs.
struct Description {
  std::string vendor, format;
  Json report;
  Json event_log;  // null without one
};
Result<Description> describe(ByteView input, std::optional<snp::Product> product, std::optional<ByteView> event_log = std::nullopt);

}  // namespace cci::appraise
