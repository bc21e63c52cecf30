// NVIDIA GPUs in confidential-computing mode: the attestation SDK's serialized evidence (one
// report and device chain per GPU) appraised offline. Authenticity (checks), per GPU: the report
// (common/verify/nvgpu_verify: device chain to the pinned NVIDIA root, SPDM signature, the
// verifier's nonce, FWID), the driver and VBIOS RIMs the user gave (common/verify/nvgpu_rim:
// libxmlsec1, the pinned RIM root), and revocation: OCSP answers (RFC 6960, crypto/ocsp) for the
// device chain below its root but above the attestation key (made by the GPU itself, it has no
// responder) and for each RIM signer's chain below its root, as NVIDIA's verifiers ask; an answer
// missing or stale at --at is missing collateral (exit 3) unless the user names --insecure-no-crl.
// The reference values (findings): the RIMs' versions and measurements against the report's.
#include <algorithm>
#include <deque>
#include <filesystem>

#include "appraise/appraisers.h"
#include "appraise/cache_collateral.h"
#include "base/file_io.h"
#include "base/hex.h"
#include "base/text.h"
#include "crypto/ocsp.h"
#include "crypto/x509.h"
#include "evidence/sim_layout.h"
#include "nvgpu/report.h"
#include "policy/nvgpu_policy.h"
#include "verify/nvgpu_rim.h"
#include "verify/nvgpu_verify.h"

namespace cci::appraise {
namespace {

// A JSON list whose first element has the SDK's keys: cheap, parsing decides the rest.
bool looks_like_gpu_evidence(ByteView raw) {
  size_t i = 0;
  while (i < raw.size() && (raw[i] == ' ' || raw[i] == '\n' || raw[i] == '\r' || raw[i] == '\t')) ++i;
  if (i == raw.size() || raw[i] != '[') return false;
  const std::string_view text(reinterpret_cast<const char*>(raw.data()), std::min<size_t>(raw.size(), 1u << 16));
  return text.find("\"evidence\"") != std::string_view::npos && text.find("\"certificate\"") != std::string_view::npos &&
         text.find("\"arch\"") != std::string_view::npos;
}

Json report_json(const nvgpu::Report& r) {
  Json j{{"driver_version", r.driver_version},
         {"vbios_version", r.vbios_version},
         {"project", r.project},
         {"project_sku", r.project_sku},
         {"chip_sku", r.chip_sku},
         {"request_nonce", to_hex(r.request_nonce)},
         {"measurement_blocks", r.blocks.size()}};
  if (!r.chip_info.empty()) j["chip_info"] = r.chip_info;
  if (r.fwid) j["fwid"] = to_hex(*r.fwid);
  if (r.opaque_data_version) j["opaque_data_version"] = *r.opaque_data_version;
  j["opaque_format"] = r.opaque_header ? "NVDAOD " + std::to_string(r.opaque_header->major) + "." + std::to_string(r.opaque_header->minor) + "." +
                                             std::to_string(r.opaque_header->patch)
                                       : std::string("legacy");
  if (r.fsp_ucode_svn) j["fsp_ucode_svn"] = *r.fsp_ucode_svn;
  if (r.feature_flag) j["feature_flag"] = *r.feature_flag == 0 ? "SPT" : *r.feature_flag == 1 ? "MPT" : *r.feature_flag == 2 ? "PPCIE" : std::to_string(*r.feature_flag);
  if (r.nvdec0_status) j["nvdec0"] = *r.nvdec0_status == 0xAA ? "enabled" : *r.nvdec0_status == 0x55 ? "disabled" : to_hex(ByteView(&*r.nvdec0_status, 1));
  return j;
}

// Every RIM file the user gave, verified once; the one for a report's version is then picked.
struct GivenRim {
  std::string file;
  verify::RimVerification v;
};

Result<std::vector<GivenRim>> read_rims(const std::vector<std::string>& files, std::time_t at, const std::string& kind, const crypto::Certificate* root) {
  std::vector<GivenRim> out;
  for (const auto& f : files) {
    CCI_ASSIGN(xml, read_file(f, verify::kMaxRimSize));
    out.push_back({f, verify::verify_rim(xml, at, kind + " RIM " + f, root)});
  }
  return out;
}

// Every OCSP response the user gave, read once (the CertID inside says which certificate it is for).
struct GivenOcsp {
  std::string file;
  Bytes der;
};

Result<std::vector<GivenOcsp>> read_ocsp(const std::vector<std::string>& files) {
  std::vector<GivenOcsp> out;
  for (const auto& f : files) {
    CCI_ASSIGN(der, read_file(f, crypto::kMaxOcspResponseSize));
    if (auto st = crypto::ocsp_response_well_formed(der); !st) return make_error(st.error().code, "--ocsp " + f + ": " + st.error().message, "ocsp");
    out.push_back({f, std::move(der)});
  }
  return out;
}

// The revocation status of chain[first .. size-2], each asked of its issuer chain[i+1], from the
// given answers: one check line. Revoked, unknown or a response that fails its checks: a failure;
// no answer, or only answers outside their window at `at`: missing collateral.
void check_revocation(const std::vector<crypto::Certificate>& chain, size_t first, const std::vector<GivenOcsp>& given, std::time_t at,
                      const std::string& id, const std::string& what, CollateralSource& source, const Notes& n, verify::CheckList& checks) {
  // A chain with nothing to ask about is never a pass (fail closed, whatever made it so).
  if (first + 1 >= chain.size()) {
    checks.add(id, false, what + ": no certificate below the root to ask about (" + std::to_string(chain.size()) + " in the chain)");
    return;
  }
  std::vector<std::string> good, missing, failed;
  for (size_t i = first; i + 1 < chain.size(); ++i) {
    const auto& cert = chain[i];
    const auto& issuer = chain[i + 1];
    const std::string cn = cert.subject_common_name();
    std::optional<crypto::OcspAnswer> best;
    std::string best_file, error;
    // The answers given, then the source's (the cache, filled live unless --offline): candidates alike.
    const auto consider = [&](const std::string& file, ByteView der) {
      if (!crypto::ocsp_response_names(der, cert, issuer)) return;
      auto ans = crypto::check_ocsp_response(der, cert, issuer, at);
      if (!ans) {
        if (error.empty()) error = file + ": " + ans.error().message;
        return;
      }
      // A verified "revoked" outweighs everything; then a current answer; then any.
      const auto rank = [at](const crypto::OcspAnswer& x) {
        return x.status == crypto::OcspStatus::kRevoked ? 3 : x.current_at(at) ? 2 : 1;
      };
      if (!best || rank(*ans) > rank(*best)) {
        best = *ans;
        best_file = file;
      }
    };
    for (const auto& a : given) consider(a.file, a.der);
    for (const auto& der : source.nvgpu_ocsp(cert, issuer, n)) consider("the cache", der);
    if (!best) {
      if (!error.empty()) failed.push_back(cn + ": " + error);
      else missing.push_back(cn);
      continue;
    }
    const std::string window = rfc3339_utc(best->this_update) + " .. " + (best->next_update ? rfc3339_utc(*best->next_update) : "(no nextUpdate)");
    if (best->status == crypto::OcspStatus::kRevoked) {
      failed.push_back(cn + " is REVOKED" + (best->revoked_at ? " since " + rfc3339_utc(*best->revoked_at) : "") + (best->reason.empty() ? "" : " (" + best->reason + ")") +
                       ", says " + best_file);
    } else if (best->status == crypto::OcspStatus::kUnknown) {
      failed.push_back(cn + ": its issuer's responder does not know it (status unknown, " + best_file + ")");
    } else if (!best->current_at(at)) {
      missing.push_back(cn + " (the only answer, " + best_file + ", holds for " + window + ", not at " + rfc3339_utc(at) + ")");
    } else {
      good.push_back(cn + " good (" + window + ")");
    }
  }
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : "; ") + x;
    return s;
  };
  if (!failed.empty()) {
    checks.add(id, false, what + ": " + join(failed));
  } else if (!missing.empty()) {
    checks.missing(id, what + ": no current OCSP answer for " + join(missing) + " (cci-verify fetch asks the responders; or give --ocsp FILE, or name --insecure-no-crl to go without)");
  } else {
    checks.add(id, true, what + ", OCSP at " + rfc3339_utc(at) + ": " + join(good));
  }
}

// A simulated GPU the user trusts by name (--trust-sim-root DIR, cci-run sim init DIR --vendor
// nvidia): its device root (when it is the root of every GPU's chain in the evidence), its RIM
// root and its RIMs (candidates like any given).
struct SimGpu {
  crypto::Certificate device_root, rim_root;
  std::string driver_rim, vbios_rim;
};
Result<std::optional<SimGpu>> sim_gpu(const std::vector<std::string>& dirs, const std::vector<nvgpu::SerializedEvidence>& gpus) {
  for (const auto& dir : dirs) {
    std::error_code ec;
    // A DIR without a simulated GPU vouches for none (the CPU TEE's simulator may be all it holds):
    // the GPU's chain is then held against the pinned root, and fails naming its own.
    if (!std::filesystem::exists(evidence::sim_nvgpu_root_file(dir), ec)) continue;
    CCI_ASSIGN(root_pem, read_file(evidence::sim_nvgpu_root_file(dir), 1 << 16));
    CCI_ASSIGN(rim_pem, read_file(evidence::sim_nvgpu_rim_root_file(dir), 1 << 16));
    auto root = crypto::Certificate::from_pem(root_pem);
    auto rim_root = crypto::Certificate::from_pem(rim_pem);
    if (!root || !rim_root) return make_error(ErrorCode::kIo, "--trust-sim-root " + dir + ": unreadable nvidia/device_root.pem or rim_root.pem", "trust-sim-root");
    bool all = !gpus.empty();
    for (const auto& g : gpus) {
      auto chain = crypto::parse_pem_bundle(as_bytes(g.chain_pem));
      all = all && chain && !chain->empty() && chain->back().der() == root->der();
    }
    if (all) return std::optional<SimGpu>(SimGpu{std::move(*root), std::move(*rim_root), evidence::sim_nvgpu_driver_rim_file(dir), evidence::sim_nvgpu_vbios_rim_file(dir)});
  }
  return std::optional<SimGpu>();
}

// A device certificate as people name it: its CN and, where the subject has one (NVIDIA's do), its
// serialNumber attribute, the chip's unique id.
std::string device_name(const crypto::Certificate& c) {
  std::string name = c.subject_common_name();
  const std::string subject = c.subject();
  if (const auto at = subject.find("serialNumber="); at != std::string::npos) {
    const auto start = at + std::string_view("serialNumber=").size();
    name += " serialNumber " + subject.substr(start, subject.find(',', start) - start);
  }
  return name;
}

// A RIM's check id for the RIM's role: nvgpu.rim_chain -> nvgpu.driver_rim_chain.
std::string rim_check_id(const char* role_id, const std::string& rim_id) { return role_id + rim_id.substr(std::string_view("nvgpu.rim").size()); }

// Appends `from` to `to`, each detail prefixed with the GPU's number when there are several.
void append(verify::CheckList& to, const verify::CheckList& from, const std::string& prefix) {
  for (const auto& ch : from.items()) {
    if (ch.outcome == verify::Outcome::kSkip) to.skip(ch.id, prefix + ch.detail);
    else if (ch.missing_collateral) to.missing(ch.id, prefix + ch.detail);
    else to.add(ch.id, ch.outcome == verify::Outcome::kPass, prefix + ch.detail);
  }
}

class NvgpuAppraiser final : public Appraiser {
 public:
  const char* vendor() const override { return "nvidia"; }
  const char* tee() const override { return "nvgpu"; }
  bool recognises(ByteView raw) const override { return looks_like_gpu_evidence(raw); }

  Result<Verdict> appraise(Extracted x, const Request& r, CollateralSource& source, const Notes& n) const override {
    const GivenCollateral& g = r.given;
    if (!g.vek.empty() || !g.cert_table.empty() || !g.cert_chain.empty() || !g.crl.empty() || r.product || !g.hrk.empty() || !g.hsk_cek.empty() ||
        !g.tdx_collateral.empty() || !g.azure_hcl.empty()) {
      return make_error(ErrorCode::kUsage, "--vek, --cert-table, --cert-chain, --crl, --product, --hrk, --hsk-cek, --tdx-collateral and --azure-hcl are for CPU TEEs; this is NVIDIA GPU evidence",
                        "vendor");
    }
    if (!r.expect.measurement_flags.empty()) {
      return make_error(ErrorCode::kUsage, "--measurement is for CPU TEEs: a GPU's reference values are its driver and VBIOS RIMs (--driver-rim, --vbios-rim)", "measurement");
    }
    auto gpus = nvgpu::parse_serialized_evidence(x.report);
    if (!gpus) return make_error(gpus.error().code, r.label + ": " + gpus.error().message, gpus.error().field);
    // The verifier's nonce: --nonce (32 bytes, REPORT_DATA's first half; the rest zero).
    std::optional<Bytes> nonce;
    if (r.expect.nonce_size && *r.expect.nonce_size != 32) {
      return make_error(ErrorCode::kUsage, "a GPU's nonce is 32 bytes: give --nonce with 64 hex digits", "nonce");
    }
    if (r.expect.report_data) {
      const Bytes& rd = *r.expect.report_data;
      if (!std::all_of(rd.begin() + 32, rd.end(), [](std::uint8_t b) { return b == 0; })) {
        return make_error(ErrorCode::kUsage, "a GPU's nonce is 32 bytes: give --nonce with 64 hex digits", "nonce");
      }
      nonce = Bytes(rd.begin(), rd.begin() + 32);
    }
    CCI_ASSIGN(sim, sim_gpu(r.trust_sim_roots, *gpus));
    std::vector<std::string> driver_files = g.gpu_driver_rims, vbios_files = g.gpu_vbios_rims;
    if (sim) {
      driver_files.push_back(sim->driver_rim);
      vbios_files.push_back(sim->vbios_rim);
    }
    const crypto::Certificate* rim_root = sim ? &sim->rim_root : nullptr;
    CCI_ASSIGN(driver_rims, read_rims(driver_files, r.at, "driver", rim_root));
    CCI_ASSIGN(vbios_rims, read_rims(vbios_files, r.at, "VBIOS", rim_root));
    CCI_ASSIGN(ocsp, read_ocsp(g.gpu_ocsp));

    Verdict out;
    out.vendor = vendor();
    out.tee_name = "NVIDIA GPU";
    out.format = "NVIDIA attestation SDK evidence";
    out.policy_source = r.expect.policy_source;
    verify::CheckList findings;
    bool authentic = true, missing_only = true;
    Json gpus_json = Json::array();
    std::vector<verify::Verified<nvgpu::Report>> verified;
    std::deque<GivenRim> fetched;  // RIMs from the source (stable addresses: `chosen` points into them)
    struct Device {
      size_t gpu;
      crypto::Certificate device;  // the leaf's issuer (verify_gpu_report holds the chain to its order)
    };
    std::vector<Device> devices;  // of each GPU whose chain held
    for (size_t i = 0; i < gpus->size(); ++i) {
      const auto& e = (*gpus)[i];
      const std::string prefix = gpus->size() > 1 ? "GPU " + std::to_string(i + 1) + ": " : "";
      verify::GpuEvidence ev;
      ev.report = e.report;
      ev.chain_pem = e.chain_pem;
      ev.nonce = nonce;
      ev.at = r.at;
      if (sim) ev.root = sim->device_root.clone();
      const auto v = verify::verify_gpu_report(ev);
      verify::CheckList checks = v.checks;
      // The RIMs for this GPU's versions: the first that verified, else the first that names them.
      const verify::Rim* chosen[2] = {nullptr, nullptr};
      const std::vector<crypto::Certificate>* rim_chains[2] = {nullptr, nullptr};
      if (v.report) {
        const std::vector<GivenRim>* lists[2] = {&driver_rims, &vbios_rims};
        const std::string versions[2] = {v.report->driver_version, v.report->vbios_version};
        const char* kinds[2] = {"driver", "VBIOS"};
        const char* ids[2] = {"nvgpu.driver_rim", "nvgpu.vbios_rim"};
        for (int k = 0; k < 2; ++k) {
          const GivenRim* pick = nullptr;
          for (const auto& gr : *lists[k]) {
            if (gr.v.rim && verify::rim_version_matches(gr.v.rim->colloquial_version, versions[k])) {
              if (!pick || (gr.v.passed && !pick->v.passed)) pick = &gr;
            }
          }
          if (!pick) {
            // None given for this version: the source's (the cache, filled from NVIDIA's RIM
            // service unless --offline), verified like any other.
            const std::string id = verify::rim_id(*v.report, k == 0);
            if (id.empty()) {
              checks.missing(ids[k], verify::no_rim_id_reason(*v.report, k == 0));
              continue;
            }
            if (auto xml = source.nvgpu_rim(id, n)) {
              fetched.push_back({"the cache (" + id + ")", verify::verify_rim(*xml, r.at, std::string(kinds[k]) + " RIM " + id + " (cache)", rim_root)});
              const GivenRim& fr = fetched.back();
              if (fr.v.rim && verify::rim_version_matches(fr.v.rim->colloquial_version, versions[k])) pick = &fr;
            }
          }
          if (!pick) {
            // A file given for this kind that is no readable RIM at all is the user's error, not a gap.
            bool broken = false;
            for (const auto& gr : *lists[k]) {
              if (gr.v.rim) continue;
              broken = true;
              for (const auto& ch : gr.v.checks.items()) checks.add(rim_check_id(ids[k], ch.id), false, ch.detail);
            }
            if (broken) continue;
            checks.missing(ids[k], std::string("no ") + kinds[k] + " RIM for " + kinds[k] + " " + (versions[k].empty() ? "?" : versions[k]) + " (give --" +
                                       (k == 0 ? "driver" : "vbios") + "-rim FILE, or let cci-verify fetch get it: NVIDIA's RIM service serves it as " + verify::rim_id(*v.report, k == 0) + ")");
            continue;
          }
          for (const auto& ch : pick->v.checks.items()) {
            checks.add(rim_check_id(ids[k], ch.id), ch.outcome != verify::Outcome::kFail, ch.detail);
          }
          if (pick->v.passed) {
            chosen[k] = &*pick->v.rim;
            rim_chains[k] = &pick->v.chain;
          }
        }
      }
      if (!r.crl_required) {
        checks.skip("nvgpu.revocation", "not checked: --insecure-no-crl");
      } else if (v.verified) {
        // The device chain as verified: the attestation key (index 0) has no responder.
        auto chain = crypto::parse_pem_bundle(as_bytes(e.chain_pem));
        std::vector<crypto::Certificate> device_chain = chain ? std::move(*chain) : std::vector<crypto::Certificate>{};
        if (sim && !device_chain.empty()) device_chain.back() = sim->device_root.clone();
        check_revocation(device_chain, 1, ocsp, r.at, "nvgpu.revocation", "the device chain", source, n, checks);
        const char* ids[2] = {"nvgpu.driver_rim_revocation", "nvgpu.vbios_rim_revocation"};
        const char* whats[2] = {"the driver RIM's signer", "the VBIOS RIM's signer"};
        for (int k = 0; k < 2; ++k) {
          if (rim_chains[k]) check_revocation(*rim_chains[k], 0, ocsp, r.at, ids[k], whats[k], source, n, checks);
        }
      }
      append(out.checks, checks, prefix);
      const bool ok = v.passed && checks.all_passed();
      authentic = authentic && ok;
      if (!ok && !checks.only_missing_collateral()) missing_only = false;
      if (v.verified) verified.push_back(*v.verified);
      if (v.device_cert) devices.push_back({i, v.device_cert->clone()});
      if (v.report) {
        verify::CheckList f;
        verify::compare_measurements(*v.report, chosen[0], chosen[1], f);
        append(findings, f, prefix);
        Json gj = report_json(*v.report);
        gj["authentic"] = ok;
        if (v.device_cert) gj["device_certificate"] = v.device_cert->subject();
        gpus_json.push_back(std::move(gj));
      }
    }
    if (gpus->size() > 1) {
      // Each entry must be another GPU. Every report verifies on its own, so one GPU's report
      // listed twice (or two captures of it, before and after a firmware change: another
      // attestation key, the same device key) would count as two for policy.gpu_count. The
      // device certificate's key is the chip's identity (DICE: derived from its unique secret).
      std::vector<std::string> repeats;
      for (size_t a = 0; a < devices.size(); ++a) {
        for (size_t b = 0; b < a; ++b) {
          auto ka = devices[a].device.public_key(), kb = devices[b].device.public_key();
          if (ka && kb && ka->spki_der() == kb->spki_der()) {
            repeats.push_back("GPU " + std::to_string(devices[a].gpu + 1) + " is GPU " + std::to_string(devices[b].gpu + 1) +
                              " (the same device certificate key, " + device_name(devices[a].device) + ")");
            break;
          }
        }
      }
      if (!repeats.empty()) {
        std::string text;
        for (const auto& rep : repeats) text += (text.empty() ? "" : "; ") + rep;
        out.checks.add("nvgpu.distinct_gpus", false, text + ": one GPU's evidence listed twice does not make two GPUs");
        authentic = false;
        missing_only = false;
      } else if (devices.size() == gpus->size()) {
        out.checks.add("nvgpu.distinct_gpus", true,
                       std::to_string(gpus->size()) + " GPUs, " + std::to_string(devices.size()) + " different device certificate keys");
      }
    }
    if (gpus->empty()) authentic = false;
    out.authentic = authentic;
    if (authentic) {
      // The policy, on the GPUs whose reports all verified.
      findings.append(policy::evaluate_gpu_policy(r.expect.policy, verified, r.expect.named_fields));
      out.findings = std::move(findings);
    }
    out.outcome = outcome_of(out, !authentic && missing_only);
    out.report = Json{{"gpus", gpus_json}};
    out.simulated = sim.has_value();
    out.what = std::string(sim ? "SIMULATED NVIDIA GPU evidence, " : "NVIDIA GPU evidence, ") + std::to_string(gpus->size()) + (gpus->size() == 1 ? " GPU" : " GPUs");
    return out;
  }

  // Into the cache: the RIMs for every GPU's driver and VBIOS from NVIDIA's RIM service, and OCSP
  // answers about every GPU's device chain (BROM, ICA, identity) and the signers of those RIMs
  // and of the RIMs given. The certificates are only lookup keys here: the appraisal checks the
  // chains and every cached answer again.
  Result<FetchReport> fetch(ByteView raw, const FetchRequest& r) const override {
    bool want_ocsp = r.items.empty(), want_rim = r.items.empty();
    for (const auto& item : r.items) {
      if (item == "ocsp") want_ocsp = true;
      else if (item == "rim") want_rim = true;
      else return make_error(ErrorCode::kUsage, "--items for NVIDIA GPU evidence: rim, ocsp; not " + item, "items");
    }
    CCI_ASSIGN(gpus, nvgpu::parse_serialized_evidence(raw));
    collateral::OcspCache cache(r.cache_dir.empty() ? collateral::default_cache_dir() : r.cache_dir);
    collateral::OcspFetchOptions o = r.nvidia;
    o.refresh = o.refresh || r.refresh;
    FetchReport out;
    // RIMs are checked at --at (default now) before they are cached: against the pinned RIM root,
    // or a simulated one the user trusts by name.
    const std::time_t at = r.intel.at != 0 ? r.intel.at : std::time(nullptr);
    std::vector<crypto::Certificate> sim_rim_roots;
    for (const auto& dir : r.trust_sim_roots) {
      std::error_code ec;
      if (!std::filesystem::exists(evidence::sim_nvgpu_rim_root_file(dir), ec)) continue;
      CCI_ASSIGN(pem, read_file(evidence::sim_nvgpu_rim_root_file(dir), 1 << 16));
      CCI_ASSIGN(root, crypto::Certificate::from_pem(pem));
      sim_rim_roots.push_back(std::move(root));
    }
    // A RIM verified with the pinned root, else with each simulated root trusted by name.
    auto verify_any_root = [&](ByteView xml, const std::string& what) {
      auto v = verify::verify_rim(xml, at, what);
      for (const auto& root : sim_rim_roots) {
        if (v.passed) break;
        v = verify::verify_rim(xml, at, what, &root);
      }
      return v;
    };
    collateral::RimCache rim_cache(r.cache_dir.empty() ? collateral::default_cache_dir() : r.cache_dir);
    collateral::RimFetchOptions ro = r.nvidia_rims;
    ro.refresh = ro.refresh || r.refresh;
    out.summary = std::string(want_rim ? "RIMs and " : "") + "OCSP answers for " + std::to_string(gpus.size()) + (gpus.size() == 1 ? " NVIDIA GPU" : " NVIDIA GPUs") +
                  (r.gpu_rims.empty() ? "" : " and the signers of " + std::to_string(r.gpu_rims.size()) + " RIMs given");
    out.header = Json{{"vendor", "nvidia"}, {"cache_dir", r.cache_dir}, {"ocsp_url", o.url.empty() ? "(each certificate's AIA)" : o.url}};
    std::vector<Bytes> asked;  // one answer per certificate, however often it appears
    auto ask = [&](const std::vector<crypto::Certificate>& chain, size_t first) {
      for (size_t i = first; want_ocsp && i + 1 < chain.size(); ++i) {
        if (std::find(asked.begin(), asked.end(), chain[i].der()) != asked.end()) continue;
        asked.push_back(chain[i].der());
        auto f = collateral::fetch_ocsp(chain[i], chain[i + 1], cache, o);
        out.items.push_back({"ocsp " + f.subject, f.url, f.file, f.downloaded, f.error, std::move(f.data)});
      }
    };
    std::vector<std::string> ids;
    for (const auto& g : gpus) {
      CCI_ASSIGN(chain, crypto::parse_pem_bundle(as_bytes(g.chain_pem)));
      ask(chain, 1);
      // The RIMs for the report's driver and VBIOS (its fields are only the lookup key here).
      auto rep = nvgpu::parse_report(g.report);
      for (int k = 0; want_rim && rep && k < 2; ++k) {
        const std::string id = verify::rim_id(*rep, k == 0);
        if (id.empty()) {
          out.items.push_back({std::string("rim (") + (k == 0 ? "driver" : "VBIOS") + ")", "", "", false,
                               Error::make(ErrorCode::kUnsupported, verify::no_rim_id_reason(*rep, k == 0), "rim"), {}});
          continue;
        }
        if (std::find(ids.begin(), ids.end(), id) != ids.end()) continue;
        ids.push_back(id);
        verify::RimVerification last;  // the check's verification of the RIM fetch_rim returns
        auto f = collateral::fetch_rim(id, rim_cache, ro, [&](ByteView xml) {
          last = verify_any_root(xml, "RIM " + id);
          return rim_status(last);
        });
        out.items.push_back({"rim " + id, f.url, f.file, f.downloaded, f.error, f.data});
        if (!f.error) ask(last.chain, 0);
      }
    }
    for (const auto& file : r.gpu_rims) {
      CCI_ASSIGN(xml, read_file(file, verify::kMaxRimSize));
      const auto v = verify_any_root(xml, "RIM " + file);
      if (auto st = rim_status(v); !st) {
        out.items.push_back({"ocsp (RIM " + file + ")", "", "", false, st.error(), {}});
        continue;
      }
      ask(v.chain, 0);
    }
    return out;
  }

  Result<Json> describe(ByteView raw, std::optional<snp::Product>, std::string& format) const override {
    CCI_ASSIGN(gpus, nvgpu::parse_serialized_evidence(raw));
    format = "NVIDIA attestation SDK evidence";
    Json all = Json::array();
    for (const auto& e : gpus) {
      CCI_ASSIGN(rep, nvgpu::parse_report(e.report));
      Json j = report_json(rep);
      j["arch"] = e.arch;
      j["nonce_claimed"] = to_hex(e.nonce);
      all.push_back(std::move(j));
    }
    return Json{{"gpus", all}};
  }
};

}  // namespace

const Appraiser& nvgpu_appraiser() {
  static const NvgpuAppraiser a;
  return a;
}

}  // namespace cci::appraise
