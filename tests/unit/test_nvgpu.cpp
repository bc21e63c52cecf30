// NVIDIA GPU attestation reports (common/nvgpu, common/verify/nvgpu_verify) against
// vectors/nvgpu/manifest.json: every "spdm" case gives its verdict at its clock, a rejected case
// failing first on a check the manifest lists; every genuine report parses to the facts of the
// independent parse (parsed/*.json: nonces, all 64 blocks, every opaque field, decoded versions).
#include <doctest/doctest.h>

#include <ctime>
#include <algorithm>
#include <map>
#include <optional>

#include <nlohmann/json.hpp>

#include "base/hex.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "crypto/x509_issue.h"
#include "manifest/deployment.h"
#include "nvgpu/report.h"
#include "policy/nvgpu_policy.h"
#include "policy/policy_keys.h"
#include "policy/snp_policy.h"
#include "support/verified_for_tests.h"
#include "support/vectors.h"
#include "verify/nvgpu_rim.h"
#include "verify/nvgpu_verify.h"

using namespace cci;
using nlohmann::json;

namespace {

json load(const std::filesystem::path& p) {
  const Bytes b = test::slurp(p);
  return json::parse(b.begin(), b.end());
}

// The manifest's failing-check categories and this verifier's check ids.
const std::map<std::string, std::string> kCheckIds = {
    {"parse", "nvgpu.report"},
    {"spdm_header", "nvgpu.spdm_header"},
    {"report_signature", "nvgpu.report_signature"},
    {"request_nonce", "nvgpu.request_nonce"},
    {"device_chain", "nvgpu.device_chain"},
    {"fwid", "nvgpu.fwid"},
};

struct Input {
  Bytes report;
  std::string chain;
};

Input input_of(const std::filesystem::path& dir, const json& c) {
  Input in;
  const Bytes raw = test::slurp(dir / c["report"].get<std::string>());
  if (c["format"] == "nvat-json") {
    auto ev = nvgpu::parse_serialized_evidence(raw);
    REQUIRE_MESSAGE(ev, (ev ? "" : ev.error().message));
    REQUIRE(ev->size() == 1);
    CHECK((*ev)[0].arch == "HOPPER");
    CHECK(to_hex((*ev)[0].nonce) == c["nonce"].get<std::string>());
    in.report = (*ev)[0].report;
    in.chain = (*ev)[0].chain_pem;
  } else {
    auto r = nvgpu::report_from_hex_text(raw);
    REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
    in.report = *r;
    const Bytes chain = test::slurp(dir / c["chain"].get<std::string>());
    in.chain.assign(chain.begin(), chain.end());
  }
  return in;
}

// The case's report, chain, nonce and clock (the device root is the caller's business).
verify::GpuEvidence evidence_of(const Input& in, const json& c) {
  verify::GpuEvidence ev;
  ev.report = in.report;
  ev.chain_pem = in.chain;
  ev.nonce = *from_hex(c["nonce"].get<std::string>(), "nonce", 32);
  ev.at = test::utc_time(c["verify_at"]);
  return ev;
}

}  // namespace

TEST_CASE("every spdm case of the manifest gives its verdict, rejected ones failing on a listed check") {
  const auto dir = test::require_vectors("nvgpu");
  const json m = load(dir / "manifest.json");
  int accepted = 0, rejected = 0;
  for (const auto& c : m["cases"]) {
    if (c["kind"] != "spdm") continue;
    const std::string id = c["id"];
    CAPTURE(id);
    const Input in = input_of(dir, c);
    verify::GpuEvidence ev = evidence_of(in, c);
    // The pinned root is the genuine one; a case naming another root trusts that one instead.
    auto root = crypto::Certificate::from_pem(test::slurp(dir / c["device_root"].get<std::string>()));
    REQUIRE(root);
    if (root->fingerprint_sha256() != verify::pinned_nvidia_device_root_fingerprint()) ev.root = root->clone();
    const auto v = verify::verify_gpu_report(ev);
    if (c["expect"] == "accept") {
      for (const auto& ch : v.checks.items()) {
        CAPTURE(ch.id);
        CAPTURE(ch.detail);
        CHECK(ch.outcome != verify::Outcome::kFail);
      }
      CHECK(v.passed);
      ++accepted;
      continue;
    }
    CHECK_FALSE(v.passed);
    const verify::Check* first = nullptr;
    for (const auto& ch : v.checks.items()) {
      if (ch.outcome == verify::Outcome::kFail) {
        first = &ch;
        break;
      }
    }
    REQUIRE(first != nullptr);
    CAPTURE(first->id);
    CAPTURE(first->detail);
    bool listed = false;
    for (const auto& f : c["fails"]) {
      auto it = kCheckIds.find(f.get<std::string>());
      REQUIRE_MESSAGE(it != kCheckIds.end(), "a failing category this test does not map: " << f.get<std::string>());
      listed = listed || it->second == first->id;
    }
    CHECK_MESSAGE(listed, "failed on a check the manifest does not list");
    ++rejected;
  }
  CHECK(accepted == 6);
  CHECK(rejected == 18);
}

TEST_CASE("genuine reports parse to the independent parse: nonces, blocks, every opaque field") {
  const auto dir = test::require_vectors("nvgpu");
  const json m = load(dir / "manifest.json");
  int n = 0;
  for (const auto& c : m["cases"]) {
    if (c["kind"] != "spdm" || c["expect"] != "accept" || !c.contains("parsed")) continue;
    CAPTURE(c["id"].get<std::string>());
    const json p = load(dir / c["parsed"].get<std::string>());
    const Input in = input_of(dir, c);
    auto r = nvgpu::parse_report(in.report);
    REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
    const json& req = p["report"]["request"];
    const json& resp = p["report"]["response"];
    CHECK(in.report.size() == p["report"]["total_len"].get<size_t>());
    CHECK(to_hex(r->request_nonce) == req["Nonce"].get<std::string>());
    CHECK(r->request_param1 == req["Param1"].get<int>());
    CHECK(r->request_param2 == req["Param2"].get<int>());
    CHECK(to_hex(r->response_nonce) == resp["Nonce"].get<std::string>());
    CHECK(to_hex(r->signature) == resp["Signature"].get<std::string>());
    CHECK(r->signed_bytes.size() == resp["Signature_offset"].get<size_t>());
    REQUIRE(r->blocks.size() == resp["blocks"].size());
    for (size_t i = 0; i < r->blocks.size(); ++i) {
      CHECK(r->blocks[i].index == resp["blocks"][i]["index"].get<int>());
      CHECK(r->blocks[i].value_type == resp["blocks"][i]["value_type"].get<int>());
      CHECK(to_hex(r->blocks[i].value) == resp["blocks"][i]["value"].get<std::string>());
    }
    REQUIRE(r->opaque.size() == resp["opaque"].size());
    for (size_t i = 0; i < r->opaque.size(); ++i) {
      CHECK(r->opaque[i].type == resp["opaque"][i]["type"].get<int>());
      CHECK(std::string(nvgpu::opaque_type_name(r->opaque[i].type)) == resp["opaque"][i]["name"].get<std::string>());
      CHECK(to_hex(r->opaque[i].value) == resp["opaque"][i]["value"].get<std::string>());
    }
    const json& d = p["opaque_decoded"];
    CHECK(r->driver_version == d["DRIVER_VERSION"].get<std::string>());
    CHECK(r->vbios_version == d["VBIOS_VERSION"].get<std::string>());
    CHECK(r->project == d["PROJECT"].get<std::string>());
    CHECK(r->project_sku == d["PROJECT_SKU"].get<std::string>());
    CHECK(r->chip_sku == d["CHIP_SKU"].get<std::string>());
    CHECK(r->fwid.has_value() == d.contains("FWID"));
    if (r->fwid) CHECK(to_hex(*r->fwid) == d["FWID"].get<std::string>());
    REQUIRE(r->opaque_data_version.has_value() == d.contains("OPAQUE_DATA_VERSION"));
    if (d.contains("OPAQUE_DATA_VERSION")) CHECK(*r->opaque_data_version == d["OPAQUE_DATA_VERSION"].get<std::uint32_t>());
    REQUIRE(r->feature_flag.has_value() == d.contains("FEATURE_FLAG"));
    if (d.contains("FEATURE_FLAG")) CHECK(*r->feature_flag == d["FEATURE_FLAG"].get<std::uint32_t>());
    ++n;
  }
  CHECK(n == 6);
}

TEST_CASE("every single-byte flip of a genuine report is refused, and so is every truncation") {
  const auto dir = test::require_vectors("nvgpu");
  const Bytes report = *nvgpu::report_from_hex_text(test::slurp(dir / "hopper/nvtrust550_report.hex"));
  const Bytes chain = test::slurp(dir / "hopper/nvtrust550_chain.pem");
  verify::GpuEvidence ev;
  ev.chain_pem.assign(chain.begin(), chain.end());
  ev.nonce = *from_hex("931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb", "nonce", 32);
  ev.at = test::utc_time("2025-06-01T00:00:00Z");
  ev.report = report;
  REQUIRE(verify::verify_gpu_report(ev).passed);
  int accepted = 0;
  for (size_t i = 0; i < report.size(); i += 7) {
    Bytes b = report;
    b[i] ^= 0x01;
    ev.report = b;
    if (verify::verify_gpu_report(ev).passed) ++accepted;
  }
  for (size_t cut : {size_t{0}, size_t{1}, size_t{36}, size_t{45}, size_t{3565}, report.size() - 96, report.size() - 1}) {
    ev.report = ByteView(report).first(cut);
    if (verify::verify_gpu_report(ev).passed) ++accepted;
  }
  CHECK(accepted == 0);
  ev.report = report;
  ev.nonce.reset();
  const auto v = verify::verify_gpu_report(ev);
  CHECK_FALSE(v.passed);
  CHECK(v.checks.only_missing_collateral());  // no nonce: cannot evaluate (exit 3), not a forgery
}

TEST_CASE("the SPDM structure of a genuine report, broken one field at a time, is refused naming that field") {
  const auto dir = test::require_vectors("nvgpu");
  const Bytes report = *nvgpu::report_from_hex_text(test::slurp(dir / "hopper/nvtrust550_report.hex"));
  auto genuine = nvgpu::parse_report(report);
  REQUIRE(genuine);
  // GET_MEASUREMENTS request: 37 bytes; MEASUREMENTS response header at 37, its record at 45
  // (DMTF DSP0274 1.1, sections 10.11.1 and 10.11.2).
  const size_t record_len = report[42] | report[43] << 8 | report[44] << 16;
  const size_t last_value = genuine->blocks.back().value.size();
  auto with_record_len = [&](size_t n) {
    Bytes b = report;
    b[42] = static_cast<std::uint8_t>(n);
    b[43] = static_cast<std::uint8_t>(n >> 8);
    b[44] = static_cast<std::uint8_t>(n >> 16);
    return b;
  };
  auto edit = [&](size_t at, std::uint8_t v) {
    Bytes b = report;
    b[at] = v;
    return b;
  };
  const std::vector<std::tuple<Bytes, std::string, std::string>> cases = {
      {edit(0, 0x10), "request.SPDMVersion", "not 0x11"},
      {edit(1, 0xe1), "request.RequestResponseCode", "not 0xe0"},
      {edit(2, static_cast<std::uint8_t>(report[2] & ~1)), "request.Param1", "did not ask for a signature"},
      {edit(37, 0x12), "response.SPDMVersion", "not 0x11"},
      {edit(38, 0x61), "response.RequestResponseCode", "not 0x60"},
      {edit(41, static_cast<std::uint8_t>(report[41] + 1)), "response.NumberOfBlocks", "but the record holds"},
      {edit(41, static_cast<std::uint8_t>(report[41] - 1)), "response.MeasurementRecordLength", "follow the"},
      {edit(46, 2), "block.MeasurementSpecification", "not 1 (DMTF)"},
      {edit(47, static_cast<std::uint8_t>(report[47] + 1)), "block.MeasurementSize", "is not 3 + the value's size"},
      {with_record_len(record_len - 1), "response.MeasurementRecordLength", "its value runs past"},
      {with_record_len(record_len - 4 - last_value), "response.MeasurementRecordLength", "runs past MeasurementRecordLength"},
  };
  for (const auto& item : cases) {  // named copies: clang 14 cannot capture structured bindings (CAPTURE)
    const auto& bytes = std::get<0>(item);
    const auto& field = std::get<1>(item);
    const auto& why = std::get<2>(item);
    CAPTURE(field);
    CAPTURE(why);
    auto r = nvgpu::parse_report(bytes);
    REQUIRE_FALSE(r);
    CHECK(r.error().field == field);
    CHECK_MESSAGE(r.error().message.find(why) != std::string::npos, r.error().message);
  }
  auto huge = nvgpu::parse_report(Bytes(nvgpu::kMaxReportSize + 1, 0x11));
  REQUIRE_FALSE(huge);
  CHECK(huge.error().message.find("more than any GPU report") != std::string::npos);
  const std::string long_hex(2 * nvgpu::kMaxReportSize + 2, 'a');
  CHECK(nvgpu::report_from_hex_text(as_bytes(long_hex)).error().message.find("longer than any GPU report") != std::string::npos);
}

TEST_CASE("the attestation SDK's evidence list: a JSON list of GPUs, each with arch, nonce, evidence and certificate as text") {
  auto message = [](const std::string& text) {
    auto r = nvgpu::parse_serialized_evidence(as_bytes(text));
    return r ? std::string("parsed") : r.error().message;
  };
  const std::string nonce(64, 'a');
  const std::string one = R"({"arch":"HOPPER","nonce":")" + nonce + R"(","evidence":"AAAA","certificate":"AAAA"})";
  CHECK(message("[" + one + "]") == "parsed");
  CHECK(message("[]").find("an empty list") != std::string::npos);
  CHECK(message("{}").find("not a JSON list") != std::string::npos);
  CHECK(message("[" + one).find("not a JSON list") != std::string::npos);
  for (const char* key : {"arch", "nonce", "evidence", "certificate"}) {
    CAPTURE(key);
    nlohmann::json j = nlohmann::json::parse(one);
    j[key] = 1;
    CHECK(message("[" + one + "," + j.dump() + "]").find(std::string("GPU evidence 2: no string \"") + key + "\"") != std::string::npos);
    j.erase(key);
    CHECK(message("[" + j.dump() + "]").find(std::string("no string \"") + key + "\"") != std::string::npos);
  }
  CHECK(message("[7]").find("no string") != std::string::npos);
}

namespace {

// RIM and end-to-end categories of the manifest, per check id and the RIM it came from.
std::string category(const std::string& id, const std::string& source) {
  if (id == "nvgpu.rim_chain" || id == "nvgpu.rim_signature" || id == "nvgpu.rim_content") {
    if (source.empty()) return id == "nvgpu.rim_chain" ? "rim_chain" : id == "nvgpu.rim_signature" ? "rim_signature" : "rim_structure";
    return source + "_rim_auth";
  }
  static const std::map<std::string, std::string> kOther = {
      {"nvgpu.report", "parse"},
      {"nvgpu.spdm_header", "spdm_header"},
      {"nvgpu.report_signature", "report_signature"},
      {"nvgpu.request_nonce", "request_nonce"},
      {"nvgpu.device_chain", "device_chain"},
      {"nvgpu.fwid", "fwid"},
      {"nvgpu.measurements", "measurements"},
      {"nvgpu.driver_rim_version", "driver_rim_version"},
      {"nvgpu.vbios_rim_version", "vbios_rim_version"},
      {"nvgpu.rim_index_conflict", "rim_index_conflict"},
  };
  auto it = kOther.find(id);
  return it == kOther.end() ? "unmapped:" + id : it->second;
}

std::optional<crypto::Certificate> test_root(const std::filesystem::path& file, const Bytes& pinned) {
  auto root = crypto::Certificate::from_pem(test::slurp(file));
  REQUIRE(root);
  if (root->fingerprint_sha256() == pinned) return std::nullopt;  // the pinned one: found in KeyInfo
  return root->clone();
}

}  // namespace

TEST_CASE("every rim case of the manifest gives its verdict, rejected ones failing on a listed check") {
  const auto dir = test::require_vectors("nvgpu");
  const json m = load(dir / "manifest.json");
  int accepted = 0, rejected = 0;
  for (const auto& c : m["cases"]) {
    if (c["kind"] != "rim") continue;
    const std::string id = c["id"];
    CAPTURE(id);
    const auto root = test_root(dir / c["rim_root"].get<std::string>(), verify::pinned_nvidia_rim_root_fingerprint());
    const auto v = verify::verify_rim(test::slurp(dir / c["rim"].get<std::string>()), test::utc_time(c["verify_at"]), "RIM", root ? &*root : nullptr);
    std::vector<std::string> failed;
    for (const auto& ch : v.checks.items()) {
      CAPTURE(ch.detail);
      if (ch.outcome == verify::Outcome::kFail) failed.push_back(category(ch.id, ""));
    }
    if (c["expect"] == "accept") {
      CHECK(v.passed);
      CHECK(failed.empty());
      REQUIRE(v.rim);
      CHECK(v.rim->measurements.size() == 64);
      ++accepted;
      continue;
    }
    CHECK_FALSE(v.passed);
    REQUIRE_FALSE(failed.empty());
    for (const auto& f : failed) {
      CAPTURE(f);
      CHECK(std::find(c["fails"].begin(), c["fails"].end(), f) != c["fails"].end());
    }
    ++rejected;
  }
  CHECK(accepted == 7);
  CHECK(rejected == 9);
}

TEST_CASE("every e2e case gives its verdict: report, both RIMs, versions and measurements") {
  const auto dir = test::require_vectors("nvgpu");
  const json m = load(dir / "manifest.json");
  int accepted = 0, rejected = 0;
  for (const auto& c : m["cases"]) {
    if (c["kind"] != "e2e") continue;
    const std::string id = c["id"];
    CAPTURE(id);
    const Input in = input_of(dir, c);
    verify::GpuEvidence ev = evidence_of(in, c);
    const auto g = verify::verify_gpu_report(ev);
    std::vector<std::string> failed;
    for (const auto& ch : g.checks.items()) {
      if (ch.outcome == verify::Outcome::kFail) failed.push_back(category(ch.id, ""));
    }
    const auto root = test_root(dir / c["rim_root"].get<std::string>(), verify::pinned_nvidia_rim_root_fingerprint());
    std::optional<verify::RimVerification> rims[2];
    const char* kinds[2] = {"driver", "vbios"};
    for (int k = 0; k < 2; ++k) {
      const std::string key = std::string(kinds[k]) + "_rim";
      if (!c.contains(key)) continue;
      rims[k] = verify::verify_rim(test::slurp(dir / c[key].get<std::string>()), ev.at, std::string(kinds[k]) + " RIM", root ? &*root : nullptr);
      for (const auto& ch : rims[k]->checks.items()) {
        if (ch.outcome == verify::Outcome::kFail) failed.push_back(category(ch.id, kinds[k]));
      }
    }
    REQUIRE(g.report);  // every e2e report parses
    verify::CheckList cmp;
    const verify::Rim* driver = rims[0] && rims[0]->passed ? &*rims[0]->rim : nullptr;
    const verify::Rim* vbios = rims[1] && rims[1]->passed ? &*rims[1]->rim : nullptr;
    verify::compare_measurements(*g.report, driver, vbios, cmp);
    std::string mismatch_detail;
    for (const auto& ch : cmp.items()) {
      if (ch.outcome == verify::Outcome::kFail) failed.push_back(category(ch.id, ""));
      if (ch.id == "nvgpu.measurements") mismatch_detail = ch.detail;
    }
    if (c["expect"] == "accept") {
      CHECK(failed.empty());
      for (const auto& f : failed) CAPTURE(f);
      ++accepted;
      continue;
    }
    REQUIRE_FALSE(failed.empty());
    for (const auto& f : failed) {
      CAPTURE(f);
      CHECK(std::find(c["fails"].begin(), c["fails"].end(), f) != c["fails"].end());
    }
    // Where every RIM given is authentic, the mismatching indices are exactly the oracle's.
    const bool all_rims_ok = (!rims[0] || rims[0]->passed) && (!rims[1] || rims[1]->passed);
    if (all_rims_ok && c.contains("mismatched")) {
      std::string want;
      for (const auto& p : c["mismatched"]) want += (want.empty() ? "" : ", ") + std::to_string(p[0].get<int>()) + " (" + (p[1] == "vbios" ? std::string("VBIOS") : p[1].get<std::string>()) + " RIM)";
      CHECK(mismatch_detail == "measurement index " + want + " differ from the RIM's");
    }
    ++rejected;
  }
  CHECK(accepted == 3);
  CHECK(rejected == 16);
}

TEST_CASE("Blackwell's DiceTcbInfo gives the digest of its first FWID, malformed ones are errors") {
  // DiceTcbInfo { vendor [0] "NVIDIA", svn [3] 1, fwids [6] { FWID { sha384, digest(48) }, FWID { sha384, other } } },
  // built here by hand (TCG DICE Attestation Architecture, "DiceTcbInfo").
  const Bytes sha384_oid = {0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02};
  auto fwid = [&](std::uint8_t fill) {
    Bytes f = {0x30, static_cast<std::uint8_t>(sha384_oid.size() + 50)};
    f.insert(f.end(), sha384_oid.begin(), sha384_oid.end());
    f.push_back(0x04);
    f.push_back(48);
    f.insert(f.end(), 48, fill);
    return f;
  };
  Bytes list = fwid(0xab);
  const Bytes second = fwid(0xcd);
  list.insert(list.end(), second.begin(), second.end());
  REQUIRE(list.size() < 0x80);
  auto build = [&](bool minimal) {
    Bytes body = {0x80, 6, 'N', 'V', 'I', 'D', 'I', 'A', 0x83, 1, 1, 0xA6};
    if (!minimal) body.push_back(0x81);  // a long-form length for a short value: BER, not DER
    body.push_back(static_cast<std::uint8_t>(list.size()));
    body.insert(body.end(), list.begin(), list.end());
    Bytes out = {0x30, 0x81, static_cast<std::uint8_t>(body.size())};
    out.insert(out.end(), body.begin(), body.end());
    return out;
  };
  const Bytes der = build(true);
  auto f = nvgpu::dice_tcb_info_fwid(der);
  REQUIRE_MESSAGE(f, (f ? "" : f.error().message));
  CHECK(*f == Bytes(48, 0xab));
  auto ber = nvgpu::dice_tcb_info_fwid(build(false));
  REQUIRE_FALSE(ber);
  CHECK(ber.error().message == "DiceTcbInfo: a field has a length that is not in its shortest form");
  // Every truncation and a trailing byte are errors, never a digest.
  for (size_t n = 0; n < der.size(); ++n) CHECK_FALSE(nvgpu::dice_tcb_info_fwid(ByteView(der).first(n)));
  Bytes longer = der;
  longer.push_back(0);
  CHECK_FALSE(nvgpu::dice_tcb_info_fwid(longer));
  // No fwids field, or an FWID without its digest.
  const Bytes no_fwids = {0x30, 0x03, 0x83, 0x01, 0x01};
  CHECK_FALSE(nvgpu::dice_tcb_info_fwid(no_fwids));
  Bytes no_digest = {0x30, 0x11, 0xA6, 0x0f, 0x30, 0x0d};
  no_digest.insert(no_digest.end(), sha384_oid.begin(), sha384_oid.end());
  no_digest.push_back(0x05);
  no_digest.push_back(0x00);
  CHECK_FALSE(nvgpu::dice_tcb_info_fwid(no_digest));
}

namespace {

// A genuine report, parsed, marked as verified (its signature is the cases' business above).
verify::Verified<nvgpu::Report> genuine(const std::string& name) {
  const auto dir = test::require_vectors("nvgpu");
  const Bytes raw = test::slurp(dir / "hopper" / name);
  Bytes report;
  if (name.size() > 5 && name.substr(name.size() - 5) == ".json") {
    auto ev = nvgpu::parse_serialized_evidence(raw);
    REQUIRE(ev);
    report = (*ev)[0].report;
  } else {
    auto r = nvgpu::report_from_hex_text(raw);
    REQUIRE(r);
    report = *r;
  }
  auto parsed = nvgpu::parse_report(report);
  REQUIRE(parsed);
  return verify::VerifiedForTests::make(std::move(*parsed));
}

// The outcome of one check id ("" when absent), with its detail.
std::pair<std::string, std::string> outcome_of(const verify::CheckList& l, const std::string& id) {
  for (const auto& c : l.items()) {
    if (c.id == id) return {verify::outcome_name(c.outcome), c.detail};
  }
  return {"", ""};
}

}  // namespace

TEST_CASE("GPU policy on genuine reports: count, minimum driver and VBIOS, protected PCIe refused unless allowed") {
  const auto r550 = genuine("nvtrust550_report.hex");  // 550.90.07, 96.00.9f.00.01, no FEATURE_FLAG
  const auto r580 = genuine("nvat580_report.hex");     // 580.159.03, 96.00.74.00.20, SPT
  const auto r590 = genuine("nvat590_evidence.json");  // 590.12, 96.00.a5.00.01, PPCIE
  REQUIRE(r550->driver_version == "550.90.07");
  REQUIRE(r590->feature_flag == 2u);
  using policy::evaluate_gpu_policy;
  policy::Json p = policy::default_policy();

  SUBCASE("the built-in policy: confidential-computing mode, the count not pinned, no CPU key listed") {
    const auto l = evaluate_gpu_policy(p, {r550}, {});
    CHECK(outcome_of(l, "policy.gpu_mode").first == "pass");
    CHECK(outcome_of(l, "policy.gpu_count").first == "skip");
    CHECK(outcome_of(l, "policy.allow_debug").first == "");
    CHECK(outcome_of(evaluate_gpu_policy(p, {r580}, {}), "policy.gpu_mode").second.find("SPT") != std::string::npos);
    const auto ppcie = outcome_of(evaluate_gpu_policy(p, {r590}, {}), "policy.gpu_mode");
    CHECK(ppcie.first == "fail");
    CHECK(ppcie.second.find("gpu_allow_ppcie") != std::string::npos);
    p["gpu_allow_ppcie"] = true;
    CHECK(outcome_of(evaluate_gpu_policy(p, {r590}, {}), "policy.gpu_mode").first == "pass");
  }
  SUBCASE("gpu_count is exact") {
    p["gpu_count"] = 2;
    CHECK(outcome_of(evaluate_gpu_policy(p, {r550, r580}, {}), "policy.gpu_count").first == "pass");
    CHECK(outcome_of(evaluate_gpu_policy(p, {r550}, {}), "policy.gpu_count").first == "fail");
    CHECK(outcome_of(evaluate_gpu_policy(p, {r550, r580, r580}, {}), "policy.gpu_count").first == "fail");
  }
  SUBCASE("driver versions compare part by part as numbers") {
    for (auto [want, ok] : {std::pair{"550.90.07", true}, {"550.90", true}, {"550", true}, {"550.90.08", false}, {"550.100", false}, {"551", false},
                            {"549.999.999", true}}) {
      const std::string shown = want;  // CAPTURE cannot take a structured binding under clang 14 (the fuzz preset)
      CAPTURE(shown);
      p["gpu_min_driver_version"] = want;
      CHECK(outcome_of(evaluate_gpu_policy(p, {r550}, {}), "policy.gpu_driver_version").first == (ok ? "pass" : "fail"));
    }
    p["gpu_min_driver_version"] = "580.100";
    const auto l = evaluate_gpu_policy(p, {r550, r580}, {});
    int fails = 0;
    for (const auto& c : l.items()) {
      if (c.id == "policy.gpu_driver_version" && c.outcome == verify::Outcome::kFail) {
        ++fails;
        CHECK(c.detail.rfind("GPU 1: driver version 550.90.07", 0) == 0);
      }
    }
    CHECK(fails == 1);
  }
  SUBCASE("VBIOS versions compare part by part as hex") {
    for (auto [want, ok] : {std::pair{"96.00.9f.00.01", true}, {"96.00.9e.ff.ff", true}, {"96.00.a0.00.00", false}, {"96.00.9f.00.02", false},
                            {"95.ff.ff.ff.ff", true}}) {
      const std::string shown = want;  // CAPTURE cannot take a structured binding under clang 14 (the fuzz preset)
      CAPTURE(shown);
      p["gpu_min_vbios_version"] = want;
      CHECK(outcome_of(evaluate_gpu_policy(p, {r550}, {}), "policy.gpu_vbios_version").first == (ok ? "pass" : "fail"));
    }
  }
  SUBCASE("a CPU TEE's key: not applicable, or failed when named on the command line") {
    p["host_data"] = std::string(64, '0');
    p["min_tcb_evaluation_number"] = 17;
    CHECK(outcome_of(evaluate_gpu_policy(p, {r550}, {}), "policy.host_data").first == "skip");
    CHECK(outcome_of(evaluate_gpu_policy(p, {r550}, {"host_data"}), "policy.host_data").first == "fail");
    CHECK(outcome_of(evaluate_gpu_policy(p, {r550}, {"min_tcb_evaluation_number"}), "policy.min_tcb_evaluation_number").first == "fail");
  }
}

TEST_CASE("GPU policy keys: the flags, the JSON check and the YAML reader agree on one form") {
  policy::Json p = policy::Json::object();
  const auto flag = [](const char* name) {
    for (const auto& f : policy::field_flags()) {
      if (std::string(f.flag) == name) return f;
    }
    FAIL("no flag " << name);
    return policy::field_flags()[0];
  };
  REQUIRE(policy::set_policy_field(p, flag("--gpu-min-vbios"), "96.00.9F.00.01"));
  CHECK(p["gpu_min_vbios_version"] == "96.00.9f.00.01");
  REQUIRE(policy::set_policy_field(p, flag("--gpu-min-driver"), "550.90.07"));
  REQUIRE(policy::set_policy_field(p, flag("--gpu-count"), "8"));
  CHECK(p["gpu_count"] == 8);
  CHECK(policy::check_policy_json(p));
  for (const char* bad : {"96.00.9f.00", "96.00.9f.00.01.02", "96.0.9f.00.001", "96.00.9g.00.01", "96-00-9f-00-01", ""}) {
    CAPTURE(bad);
    CHECK_FALSE(policy::set_policy_field(p, flag("--gpu-min-vbios"), bad));
  }
  for (const char* bad : {"550.", ".550", "550..1", "abc", "-1", "1.2.3.4.5", "+550"}) {
    CAPTURE(bad);
    CHECK_FALSE(policy::set_policy_field(p, flag("--gpu-min-driver"), bad));
  }
  for (const char* bad : {"0", "65", "x"}) CHECK_FALSE(policy::set_policy_field(p, flag("--gpu-count"), bad));
  // A manifest's policy in another form is refused, naming the key.
  for (auto [key, value] : {std::pair{"gpu_min_vbios_version", policy::Json("96.00.9F.00.01")}, {"gpu_count", policy::Json(0)},
                            {"gpu_allow_ppcie", policy::Json("yes")}, {"gpu_min_driver_version", policy::Json(550)}}) {
    policy::Json q = policy::Json::object();
    q[key] = value;
    const auto st = policy::check_policy_json(q);
    REQUIRE_FALSE(st);
    CHECK(st.error().field == std::string("policy.") + key);
  }
  // The YAML reader writes the same form.
  auto y = manifest::parse_policy_yaml("gpu_count: 2\ngpu_min_driver_version: \"550.90.07\"\ngpu_min_vbios_version: 96.00.9F.00.01\ngpu_allow_ppcie: true\n", "p.yaml");
  REQUIRE_MESSAGE(y, (y ? "" : y.error().message));
  CHECK((*y)["gpu_count"] == 2);
  CHECK((*y)["gpu_min_vbios_version"] == "96.00.9f.00.01");
  CHECK((*y)["gpu_allow_ppcie"] == true);
  CHECK(policy::check_policy_json(*y));
  for (const char* bad : {"gpu_count: 0\n", "gpu_min_vbios_version: 96.00\n", "gpu_min_driver_version: 5.5.5.5.5\n", "gpu_allow_ppcie: maybe\n"}) {
    CAPTURE(bad);
    CHECK_FALSE(manifest::parse_policy_yaml(bad, "p.yaml"));
  }
}

namespace {

// A report around `opaque`: a GET_MEASUREMENTS request, a MEASUREMENTS response without blocks,
// the OpaqueData and 96 signature bytes (nothing here verifies the signature).
Bytes report_with_opaque(const Bytes& opaque) {
  Bytes r = {0x11, 0xE0, 0x01, 0xFF};
  r.resize(r.size() + 33, 0);
  r.insert(r.end(), {0x11, 0x60, 0, 0, 0, 0, 0, 0});
  r.resize(r.size() + 32, 0);
  r.push_back(static_cast<std::uint8_t>(opaque.size()));
  r.push_back(static_cast<std::uint8_t>(opaque.size() >> 8));
  r.insert(r.end(), opaque.begin(), opaque.end());
  r.resize(r.size() + 96, 0);
  return r;
}

Bytes nvdaod_header(std::uint8_t major, std::uint8_t minor, std::uint16_t profile = 0) {
  return {'N', 'V', 'D', 'A', 'O', 'D', static_cast<std::uint8_t>(profile), static_cast<std::uint8_t>(profile >> 8), major, minor, 0, 0};
}

void typed_entry(Bytes& out, std::uint16_t type, std::uint16_t value_type, const Bytes& v) {
  out.insert(out.end(), {static_cast<std::uint8_t>(type), static_cast<std::uint8_t>(type >> 8), static_cast<std::uint8_t>(value_type),
                         static_cast<std::uint8_t>(value_type >> 8), static_cast<std::uint8_t>(v.size()), static_cast<std::uint8_t>(v.size() >> 8)});
  out.insert(out.end(), v.begin(), v.end());
}

}  // namespace

TEST_CASE("the versioned opaque data layout (NVIDIA Opaque Data Format, NVDAOD): header, typed entries, version from the header") {
  Bytes op = nvdaod_header(2, 0);
  typed_entry(op, nvgpu::kDriverVersion, 0x86, {'6', '2', '0', '.', '1', '2', 0});
  typed_entry(op, nvgpu::kVbiosVersion, 0x86, {0x00, 0xD9, 0x00, 0x96, 0x0F, 0, 0, 0});
  typed_entry(op, nvgpu::kNvdec0Status, 0x82, {0xAA});
  typed_entry(op, nvgpu::kFspUcodeSvn, nvgpu::kValueMinSvn, {0x05, 0x00});
  typed_entry(op, nvgpu::kOpaqueDataVersion, 0x86, {0x00, 0x02});  // a stray legacy entry: not the version
  typed_entry(op, nvgpu::kFeatureFlag, 0x85, {0x01, 0x00});
  auto r = nvgpu::parse_report(report_with_opaque(op));
  REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  REQUIRE(r->opaque_header);
  CHECK(r->opaque_header->major == 2);
  CHECK(r->opaque_data_version == 2u);
  CHECK(r->driver_version == "620.12");
  CHECK(r->vbios_version == "96.00.d9.00.0f");
  CHECK(r->nvdec0_status == 0xAA);
  CHECK(r->fsp_ucode_svn == 5);
  CHECK(r->feature_flag == 1u);
  REQUIRE(r->opaque.size() == 6);
  CHECK(r->opaque[0].value_type == 0x86);
  CHECK(r->opaque[3].value_type == nvgpu::kValueMinSvn);

  SUBCASE("an SVN entry without the SVN value type is not taken as one") {
    Bytes o = nvdaod_header(2, 0);
    typed_entry(o, nvgpu::kFspUcodeSvn, 0x82, {0x05, 0x00});
    auto x = nvgpu::parse_report(report_with_opaque(o));
    REQUIRE(x);
    CHECK(!x->fsp_ucode_svn);
  }
  SUBCASE("the legacy layout still reads OPAQUE_DATA_VERSION and has no header") {
    Bytes o = {nvgpu::kOpaqueDataVersion, 0, 2, 0, 0x01, 0x00};
    auto x = nvgpu::parse_report(report_with_opaque(o));
    REQUIRE(x);
    CHECK(!x->opaque_header);
    CHECK(x->opaque_data_version == 1u);
    CHECK(x->opaque[0].value_type == 0);
  }
  SUBCASE("a legacy OPAQUE_DATA_VERSION above what cci reads is refused the same way") {
    Bytes o = {nvgpu::kOpaqueDataVersion, 0, 2, 0, static_cast<std::uint8_t>(nvgpu::kMaxOpaqueMajor + 1), 0x00};
    auto x = nvgpu::parse_report(report_with_opaque(o));
    REQUIRE(!x);
    CHECK(x.error().field == "opaque.version");
  }
  SUBCASE("a profile other than 0 is refused, naming it") {
    auto x = nvgpu::parse_report(report_with_opaque(nvdaod_header(2, 0, 1)));
    REQUIRE(!x);
    CHECK(x.error().field == "opaque.profile");
  }
  SUBCASE("a major version newer than cci reads is refused, not guessed at") {
    auto x = nvgpu::parse_report(report_with_opaque(nvdaod_header(nvgpu::kMaxOpaqueMajor + 1, 0)));
    REQUIRE(!x);
    CHECK(x.error().field == "opaque.version");
    CHECK(x.error().message.find("newer than cci reads") != std::string::npos);
  }
  SUBCASE("the magic without the rest of the header is refused") {
    auto x = nvgpu::parse_report(report_with_opaque({'N', 'V', 'D', 'A', 'O', 'D', 0, 0, 2}));
    REQUIRE(!x);
    CHECK(x.error().field == "opaque.header");
  }
  SUBCASE("every cut inside an entry is refused") {
    for (size_t cut = 1; cut < 8; ++cut) {
      Bytes o = nvdaod_header(2, 0);
      typed_entry(o, nvgpu::kFspUcodeSvn, nvgpu::kValueMinSvn, {0x05, 0x00});
      o.resize(o.size() - cut);
      CHECK_MESSAGE(!nvgpu::parse_report(report_with_opaque(o)), "cut " << cut);
    }
  }
}

// A RIM PKI of our own (root and signer, P-384, valid for an hour around now) and SWID tags in
// NVIDIA's signature profile that the tests sign with it (verify::sign_rim_xml).
struct TestRim {
  std::string before_root;     // between the XML declaration and the root (a DOCTYPE)
  std::string root_attrs;      // extra namespace declarations
  std::string meta_attrs;      // extra Meta attributes (an xml:id)
  std::string extra_resource;  // further Payload content
  std::string reference_uri = "";
  int references = 1;
};

class TestRimPki {
 public:
  TestRimPki() {
    auto spec = [&](const char* cn, std::uint64_t serial, bool ca) {
      crypto::CertificateSpec s;
      s.subject = {{"CN", cn}};
      s.serial = serial;
      s.not_before = now - 3600;
      s.not_after = now + 3600;
      s.ca = ca;
      s.key_usage = ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature";
      return s;
    };
    auto root_key = crypto::generate_key(crypto::KeyType::kEcP384);
    auto signer_key = crypto::generate_key(crypto::KeyType::kEcP384);
    REQUIRE(root_key);
    REQUIRE(signer_key);
    auto r = crypto::issue_certificate(spec("test RIM root", 1, true), root_key->public_key(), *root_key, nullptr, crypto::IssueSignature::kEcdsaSha384);
    REQUIRE(r);
    auto sgn = crypto::issue_certificate(spec("test RIM signer", 2, false), signer_key->public_key(), *root_key, &*r, crypto::IssueSignature::kEcdsaSha384);
    REQUIRE(sgn);
    auto pem = signer_key->pem(std::nullopt);
    REQUIRE(pem);
    root.emplace(std::move(*r));
    signer.emplace(std::move(*sgn));
    key_pem = *pem;
  }

  static std::string xml(const TestRim& t) {
    std::string reference = "<Reference URI=\"" + t.reference_uri + "\"><Transforms><Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>"
                            "<Transform Algorithm=\"http://www.w3.org/2006/12/xml-c14n11\"/></Transforms>"
                            "<DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#sha384\"/><DigestValue/></Reference>";
    std::string references;
    for (int i = 0; i < t.references; ++i) references += reference;
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + t.before_root + "<SoftwareIdentity xmlns=\"http://standards.iso.org/iso/19770/-2/2015/schema.xsd\" "
           "xmlns:SHA384=\"http://www.w3.org/2001/04/xmlenc#sha384\"" + t.root_attrs + " name=\"GH100\" tagId=\"test\" version=\"1.0\">\n"
           "<Meta colloquialVersion=\"620.12\" product=\"GH100\"" + t.meta_attrs + "/>\n<Payload>\n"
           "<Resource type=\"Measurement\" index=\"0\" active=\"True\" alternatives=\"1\" SHA384:Hash0=\"" + std::string(96, '0') +
           "\" name=\"Measurement_0\" size=\"48\"/>\n" + t.extra_resource + "</Payload>\n"
           "<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><SignedInfo>"
           "<CanonicalizationMethod Algorithm=\"http://www.w3.org/2006/12/xml-c14n11\"/>"
           "<SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384\"/>" + references + "</SignedInfo>"
           "<SignatureValue/><KeyInfo><X509Data/></KeyInfo></Signature>\n</SoftwareIdentity>\n";
  }

  Bytes sign(const TestRim& t) const {
    auto signed_xml = verify::sign_rim_xml(as_bytes(xml(t)), key_pem, {signer->pem(), root->pem()});
    REQUIRE_MESSAGE(signed_xml, (signed_xml ? "" : signed_xml.error().message));
    return *signed_xml;
  }
  verify::RimVerification verify(ByteView signed_xml) const { return verify::verify_rim(signed_xml, now, "test RIM", &*root); }

  const std::time_t now = std::time(nullptr);
  std::optional<crypto::Certificate> root, signer;
  std::string key_pem;
};

// The detail of the first failed check with this id, or "" when it did not fail.
std::string failed_detail(const verify::RimVerification& v, const std::string& id) {
  for (const auto& c : v.checks.items()) {
    if (c.id == id && c.outcome == verify::Outcome::kFail) return c.detail;
  }
  return "";
}

TEST_CASE("a RIM that sets an opaque-data reference value (NVIDIA Opaque Data RIM Attributes, minSvn) is refused, not half-read") {
  const TestRimPki pki;
  CHECK_MESSAGE(pki.verify(pki.sign({})).passed, "the same RIM without the attribute verifies");
  const std::string ns3 = " xmlns:ns3=\"https://docs.nvidia.com/attestation/specs/latest/opaque-data.html\"";
  for (const std::string& type : {std::string("Measurement"), std::string("OpaqueData")}) {
    CAPTURE(type);
    TestRim t;
    t.root_attrs = ns3;
    t.extra_resource = "<Resource type=\"" + type + "\" index=\"64\" active=\"True\" name=\"FSP_UCODE_SVN\" ns3:minSvn=\"3\"/>\n";
    const auto v = pki.verify(pki.sign(t));
    CHECK(!v.passed);
    CHECK_MESSAGE(failed_detail(v, "nvgpu.rim_content").find("FSP_UCODE_SVN sets the opaque-data reference value minSvn") != std::string::npos,
                  "the refusal names the resource and the attribute");
  }
}

TEST_CASE("a RIM's signature must be NVIDIA's profile: the whole document, one reference, one signature, no DOCTYPE") {
  // Each of these verifies with libxmlsec1's defaults; only the profile refuses them.
  const TestRimPki pki;
  REQUIRE(pki.verify(pki.sign({})).passed);
  SUBCASE("a signature over the Meta element only: the Payload's measurements would be unsigned") {
    TestRim t;
    t.meta_attrs = " xml:id=\"meta\"";
    t.reference_uri = "#meta";
    Bytes signed_xml = pki.sign(t);
    const auto v = pki.verify(signed_xml);
    CHECK_FALSE(v.passed);
    CHECK(!failed_detail(v, "nvgpu.rim_signature").empty());
    // ... and so is the same document with the measurement changed after signing.
    const std::string zeros(96, '0');
    std::string text(signed_xml.begin(), signed_xml.end());
    const size_t at = text.find(zeros);
    REQUIRE(at != std::string::npos);
    text.replace(at, zeros.size(), std::string(96, 'f'));
    CHECK_FALSE(pki.verify(as_bytes(text)).passed);
  }
  SUBCASE("two references") {
    TestRim t;
    t.references = 2;
    const auto v = pki.verify(pki.sign(t));
    CHECK_FALSE(v.passed);
    CHECK(!failed_detail(v, "nvgpu.rim_signature").empty());
  }
  SUBCASE("a second ds:Signature inside the signed content") {
    TestRim t;
    t.extra_resource = "<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><SignatureValue>AAAA</SignatureValue></Signature>\n";
    const auto v = pki.verify(pki.sign(t));
    CHECK_FALSE(v.passed);
    CHECK(failed_detail(v, "nvgpu.rim_signature").find("exactly one enveloped ds:Signature") != std::string::npos);
  }
  SUBCASE("a DOCTYPE (entities, default attributes: none of a RIM's business)") {
    TestRim t;
    t.before_root = "<!DOCTYPE SoftwareIdentity [ <!ENTITY v \"620.12\"> ]>\n";
    const auto v = pki.verify(pki.sign(t));
    CHECK_FALSE(v.passed);
    CHECK(failed_detail(v, "nvgpu.rim_signature").find("DOCTYPE") != std::string::npos);
  }
}

TEST_CASE("a signed RIM whose SWID content is not a RIM's is refused naming what is wrong, not half-read") {
  const TestRimPki pki;
  const std::string base = TestRimPki::xml({});
  const std::string meta = "<Meta colloquialVersion=\"620.12\" product=\"GH100\"/>";
  const std::string payload_close = "</Payload>";
  const std::string resource_attrs = "index=\"0\" active=\"True\" alternatives=\"1\"";
  const std::string zeros(96, '0');
  auto replaced = [&](const std::string& what, const std::string& with) {
    std::string x = base;
    const size_t at = x.find(what);
    REQUIRE(at != std::string::npos);
    x.replace(at, what.size(), with);
    return x;
  };
  const std::string second_payload = "</Payload>\n<Payload></Payload>";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {replaced(meta, meta + meta), "not one SWID Meta element"},
      {replaced(meta, "<Meta product=\"GH100\"/>"), "Meta has no colloquialVersion"},
      {replaced(payload_close, second_payload), "not one SWID Payload element"},
      {replaced(resource_attrs, "index=\"x1\" active=\"True\" alternatives=\"1\""), "without a numeric index"},
      {replaced(resource_attrs, "index=\"256\" active=\"True\" alternatives=\"1\""), "repeated or out of range"},
      {replaced(payload_close, "<Resource type=\"Measurement\" index=\"0\" active=\"False\" alternatives=\"1\" SHA384:Hash0=\"" + zeros + "\"/>\n" + payload_close),
       "repeated or out of range"},
      {replaced(resource_attrs, "index=\"0\" active=\"yes\" alternatives=\"1\""), "not True or False"},
      {replaced(resource_attrs, "index=\"0\" active=\"True\" alternatives=\"0\""), "not a small positive number"},
      {replaced(resource_attrs, "index=\"0\" active=\"True\" alternatives=\"2\""), "Hash1 is not 48 bytes of hex"},
      {replaced(zeros, std::string(94, '0')), "Hash0 is not 48 bytes of hex"},
      {replaced(zeros, std::string(95, '0') + "g"), "Hash0 is not 48 bytes of hex"},
      {replaced("type=\"Measurement\"", "type=\"Other\""), "no Measurement resources"},
  };
  for (const auto& item : cases) {  // named copies: clang 14 cannot capture structured bindings (CAPTURE)
    const auto& xml = std::get<0>(item);
    const auto& says = std::get<1>(item);
    CAPTURE(says);
    auto signed_xml = verify::sign_rim_xml(as_bytes(xml), pki.key_pem, {pki.signer->pem(), pki.root->pem()});
    REQUIRE_MESSAGE(signed_xml, (signed_xml ? "" : signed_xml.error().message));
    const auto v = pki.verify(*signed_xml);
    CHECK_FALSE(v.passed);
    CHECK(failed_detail(v, "nvgpu.rim_content").find(says) != std::string::npos);
  }
}

TEST_CASE("driver and VBIOS RIMs: an index active in both is a conflict, an unknown NVDEC0 status fails the comparison") {
  const TestRimPki pki;
  const auto driver = pki.verify(pki.sign({}));
  std::string vbios_xml = TestRimPki::xml({});
  const std::string active0 = "index=\"0\" active=\"True\"";
  REQUIRE(vbios_xml.find(active0) != std::string::npos);
  vbios_xml.replace(vbios_xml.find(active0), active0.size(), "index=\"0\" active=\"False\"");
  auto vbios_signed = verify::sign_rim_xml(as_bytes(vbios_xml), pki.key_pem, {pki.signer->pem(), pki.root->pem()});
  REQUIRE(vbios_signed);
  const auto vbios = pki.verify(*vbios_signed);
  REQUIRE(driver.passed);
  REQUIRE(vbios.passed);
  nvgpu::Report report;
  report.driver_version = report.vbios_version = "620.12";
  nvgpu::MeasurementBlock b;
  b.index = 1;  // SPDM index 1 is the RIMs' index 0
  b.spec = 1;
  b.value.assign(48, 0);
  report.blocks.push_back(b);
  {
    verify::CheckList c;
    verify::compare_measurements(report, &*driver.rim, &*vbios.rim, c);
    CHECK(outcome_of(c, "nvgpu.rim_index_conflict").first == "pass");
    CHECK(outcome_of(c, "nvgpu.measurements").first == "pass");
  }
  {
    verify::CheckList c;
    verify::compare_measurements(report, &*driver.rim, &*driver.rim, c);  // index 0 active in both
    const auto conflict = outcome_of(c, "nvgpu.rim_index_conflict");
    CHECK(conflict.first == "fail");
    CHECK(conflict.second.find('0') != std::string::npos);
  }
  {
    report.nvdec0_status = 0x12;  // neither 0xaa (enabled) nor 0x55 (disabled)
    verify::CheckList c;
    verify::compare_measurements(report, &*driver.rim, &*vbios.rim, c);
    const auto m = outcome_of(c, "nvgpu.measurements");
    CHECK(m.first == "fail");
    CHECK(m.second.find("NVDEC0_STATUS") != std::string::npos);
  }
}

TEST_CASE("a report's FWID must be its attestation key certificate's: a changed FWID fails nvgpu.fwid, not only the signature") {
  const auto dir = test::require_vectors("nvgpu");
  const json m = load(dir / "manifest.json");
  int tried = 0;
  for (const auto& c : m["cases"]) {
    if (c["kind"] != "spdm" || c["expect"] != "accept") continue;
    const Input in = input_of(dir, c);
    auto r = nvgpu::parse_report(in.report);
    REQUIRE(r);
    if (!r->fwid) continue;  // drivers before 550 carry none
    const std::string id = c["id"];
    CAPTURE(id);
    auto at = std::search(in.report.begin(), in.report.end(), r->fwid->begin(), r->fwid->end());
    REQUIRE(at != in.report.end());
    Input changed = in;
    changed.report[static_cast<size_t>(at - in.report.begin()) + 47] ^= 0x01;
    verify::GpuEvidence ev = evidence_of(changed, c);
    auto root = crypto::Certificate::from_pem(test::slurp(dir / c["device_root"].get<std::string>()));
    REQUIRE(root);
    if (root->fingerprint_sha256() != verify::pinned_nvidia_device_root_fingerprint()) ev.root = root->clone();
    const auto v = verify::verify_gpu_report(ev);
    CHECK_FALSE(v.passed);
    const auto fwid = outcome_of(v.checks, "nvgpu.fwid");
    CHECK(fwid.first == "fail");
    CHECK(fwid.second.find("is not the certificate's") != std::string::npos);
    ++tried;
  }
  CHECK(tried >= 2);
}

TEST_CASE("a report without the versions a RIM id needs gets no RIM id, and the reason names the missing fields") {
  auto empty = nvgpu::parse_report(report_with_opaque({}));
  REQUIRE(empty);
  CHECK(verify::rim_id(*empty, true).empty());
  CHECK(verify::rim_id(*empty, false).empty());
  const std::string why = verify::no_rim_id_reason(*empty, false);
  CHECK(why.find("no VBIOS_VERSION, PROJECT, PROJECT_SKU, CHIP_SKU (0 opaque fields)") != std::string::npos);
  CHECK(why.find("CoRIM") != std::string::npos);
  Bytes op;
  auto field = [&](std::uint16_t t, const std::string& v) {
    op.insert(op.end(), {static_cast<std::uint8_t>(t), 0, static_cast<std::uint8_t>(v.size() + 1), 0});
    op.insert(op.end(), v.begin(), v.end());
    op.push_back(0);
  };
  field(nvgpu::kDriverVersion, "550.90.07");
  field(nvgpu::kProject, "G520");
  auto some = nvgpu::parse_report(report_with_opaque(op));
  REQUIRE(some);
  CHECK(verify::rim_id(*some, true) == "NV_GPU_DRIVER_GH100_550.90.07");
  CHECK(verify::rim_id(*some, false).empty());
  CHECK(verify::no_rim_id_reason(*some, false).find("no VBIOS_VERSION, PROJECT_SKU, CHIP_SKU (2 opaque fields)") != std::string::npos);
}
