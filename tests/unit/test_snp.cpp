// SEV-SNP report parsing against the genuine vectors of shared vectors/snp (manifest.json).
#include <doctest/doctest.h>

#include <map>

#include <nlohmann/json.hpp>

#include "base/hex.h"
#include "snp/cert_table.h"
#include "snp/report.h"
#include "snp/vek.h"
#include "support/vectors.h"

using namespace cci;
using namespace cci::snp;
namespace fs = std::filesystem;

namespace {

nlohmann::json snp_manifest() {
  auto dir = test::require_vectors("snp");
  return nlohmann::json::parse(as_chars(test::slurp(dir / "manifest.json")));
}

Report load(const std::string& rel) {
  auto dir = test::require_vectors("snp");
  auto in = extract_report(test::slurp(dir / rel));
  REQUIRE_MESSAGE(in, (in ? "" : in.error().message));
  auto r = parse_report(in->report);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  return *r;
}

}  // namespace

TEST_CASE("every report of the vector manifest parses in its format") {
  auto m = snp_manifest();
  auto dir = test::require_vectors("snp");
  int n = 0;
  for (const auto& v : m["vectors"]) {
    std::string id = v["id"];
    CAPTURE(id);
    auto in = extract_report(test::slurp(dir / v["report"].get<std::string>()));
    REQUIRE_MESSAGE(in, (in ? "" : in.error().message));
    const std::string fmt = v["format"];
    if (v["offset"].get<int>() == 0x20) {
      CHECK(in->format == InputFormat::kAzureHcl);
    } else {
      CHECK(std::string(input_format_name(in->format)) == (fmt == "hex" ? "hex" : "raw"));
    }
    auto r = parse_report(in->report);
    REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
    if (v.contains("version")) CHECK(r->version == v["version"].get<std::uint32_t>());
    ++n;
  }
  CHECK(n >= 10);
}

TEST_CASE("decoded fields match the README") {
  auto gsg = load("milan/gsg_milan_v2_report.bin");
  CHECK(gsg.version == 2);
  CHECK(gsg.policy == 0xb0000);
  CHECK(gsg.debug_allowed());
  CHECK(gsg.current_major == 1);
  CHECK(gsg.current_minor == 49);
  CHECK(gsg.current_build == 3);
  CHECK(to_hex(gsg.measurement) ==
        "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01");
  CHECK(tcb_text(decode_tcb(gsg.reported_tcb, Product::kMilan)) == "bl=2 tee=0 snp=5 ucode=68");
  CHECK_FALSE(gsg.cpuid_family);

  auto tav = load("milan/tav_milan_v3_report.bin");
  REQUIRE(tav.cpuid_family);
  CHECK(product_from_cpuid(*tav.cpuid_family, *tav.cpuid_model) == Product::kMilan);
  CHECK(tcb_text(decode_tcb(tav.reported_tcb, Product::kMilan)) == "bl=4 tee=0 snp=24 ucode=219");
  CHECK(tav.platform_info == 0x25);

  auto turin = load("turin/tav_turin_v5_report.bin");
  CHECK(turin.version == 5);
  CHECK(product_from_cpuid(*turin.cpuid_family, *turin.cpuid_model) == Product::kTurin);
  CHECK(turin.reported_tcb == 0x5100000004010101ULL);
  CHECK(tcb_text(decode_tcb(turin.reported_tcb, Product::kTurin)) == "fmc=1 bl=1 tee=1 snp=4 ucode=81");
  CHECK(turin.launch_mit_vector == 0x3fu);
  CHECK(to_hex(ByteView(turin.chip_id).first(8)) == "59790fb1c39f35c1");

  auto zen4c = load("genoa/lunal_genoa_v5_report.bin");
  CHECK(product_from_cpuid(*zen4c.cpuid_family, *zen4c.cpuid_model) == Product::kGenoa);  // model 0xA0

  auto vlek = load("vlek/trustee_milan_v3_vlek_report.bin");
  CHECK(vlek.signing_key() == SigningKey::kVlek);
  CHECK(vlek.vmpl == 1);
}

TEST_CASE("Azure HCL reports unwrap with their runtime claims") {
  auto dir = test::require_vectors("snp");
  auto in = extract_report(test::slurp(dir / "azure_hcl/trustee_az_milan_v2_hcl_report.bin"));
  REQUIRE(in);
  CHECK(in->format == InputFormat::kAzureHcl);
  CHECK(std::string(as_chars(in->azure_runtime_claims)).find("HCLAkPub") != std::string::npos);
  CHECK(parse_report(in->report));
}

TEST_CASE("structural errors name the field") {
  auto base = load("milan/tav_milan_v3_report.bin").raw;
  auto err = [&](size_t off, std::uint8_t x) {
    Bytes b = base;
    b[off] ^= x;
    auto r = parse_report(b);
    REQUIRE_FALSE(r);
    return r.error().field;
  };
  CHECK(err(0x000, 0x0f) == "VERSION");         // version 3 -> 12
  CHECK(err(0x034, 0x02) == "SIGNATURE_ALGO");
  CHECK(err(0x00A, 0x02) == "POLICY");          // bit 17 cleared
  CHECK(err(0x04C, 0x01) == "reserved (0x04C)");
  CHECK(err(0x2D0, 0x01) == "signature R upper bytes");
  CHECK(err(0x330, 0x01) == "signature reserved (0x330)");
  CHECK(err(0x1F8, 0x01).find("mitigation") != std::string::npos);  // v3 has no mitigation vectors
  CHECK(err(0x048, 0x08) == "SIGNER_INFO");     // SIGNING_KEY 2: reserved
  CHECK_FALSE(parse_report(ByteView(base).first(kReportSize - 1)));
  Bytes longer = base;
  longer.push_back(0);
  CHECK(parse_report(longer).error().message.find("oversized") != std::string::npos);
  ParseOptions only_v2;
  only_v2.max_version = 2;
  CHECK(parse_report(base, only_v2).error().field == "VERSION");
}

TEST_CASE("product names and CPUID mapping") {
  CHECK(product_from_name("Milan-B0") == Product::kMilan);
  CHECK(product_from_name("genoa") == Product::kGenoa);
  CHECK_FALSE(product_from_name("Milano"));
  CHECK_FALSE(product_from_cpuid(0x19, 0x50));
  CHECK(product_from_cpuid(0x1A, 0x02) == Product::kTurin);
}

TEST_CASE("extended-report certificate table") {
  auto dir = test::require_vectors("snp");
  Bytes vcek = test::slurp(dir / "milan/gsg_milan_v2_vcek.der");
  // Two entries + terminator, then the blobs.
  auto build = [&](std::uint32_t off_delta, bool terminator) {
    Bytes t;
    auto entry = [&t](const Guid& g, std::uint32_t off, std::uint32_t len) {
      t.insert(t.end(), g.begin(), g.end());
      for (int i = 0; i < 4; ++i) t.push_back(static_cast<std::uint8_t>(off >> (8 * i)));
      for (int i = 0; i < 4; ++i) t.push_back(static_cast<std::uint8_t>(len >> (8 * i)));
    };
    const std::uint32_t base = 3 * 24;
    entry(kCertGuidVcek, base + off_delta, static_cast<std::uint32_t>(vcek.size()));
    entry(guid_le("ecae0c0f-9502-43b1-afa2-0ae2e0d565b6"), base + static_cast<std::uint32_t>(vcek.size()), 8);
    if (terminator) t.insert(t.end(), 24, 0);
    t.insert(t.end(), vcek.begin(), vcek.end());
    t.insert(t.end(), 8, 0x11);
    return t;
  };
  auto ok = parse_cert_table(build(0, true));
  REQUIRE(ok);
  REQUIRE(ok->size() == 2);
  CHECK((*ok)[0].kind == "vcek");
  CHECK((*ok)[0].data == vcek);
  CHECK((*ok)[1].kind == "unknown");
  CHECK(parse_cert_table({})->empty());
  CHECK_FALSE(parse_cert_table(build(100000, true)));  // offset outside
  Bytes cut = build(0, true);
  cut.resize(30);
  CHECK_FALSE(parse_cert_table(cut));  // truncated: no terminator
}

TEST_CASE("VEK extensions: minimal DER INTEGERs of one byte, ASCII IA5 strings, a hwID of its product's size") {
  // AMD VCEK specification 57230, "VCEK Certificate Extensions": the SPLs are INTEGERs, productName
  // and cspID IA5Strings, hwID the chip's identifier (raw, or in an OCTET STRING).
  std::map<std::string, Bytes> ext;
  auto lookup = [&](const std::string& oid) -> Result<std::optional<Bytes>> {
    auto it = ext.find(oid);
    if (it == ext.end()) return std::optional<Bytes>();
    return std::optional<Bytes>(it->second);
  };
  auto refused_on = [&](const char* oid) {
    auto r = parse_vek_extensions(lookup);
    if (r) return std::string("accepted");
    return r.error().field == oid ? std::string("refused") : "refused naming " + r.error().field;
  };
  const Bytes chip(64, 0xAB);
  ext = {{kOidBlSpl, {0x02, 0x01, 0x07}}, {kOidSnpSpl, {0x02, 0x02, 0x00, 0xD1}}, {kOidProductName, {0x16, 0x05, 'G', 'e', 'n', 'o', 'a'}},
         {kOidHwId, chip}};
  auto ok = parse_vek_extensions(lookup);
  REQUIRE_MESSAGE(ok, ok.error().message);
  CHECK(ok->bl == 7);
  CHECK(ok->snp == 0xD1);
  CHECK_FALSE(ok->tee.has_value());
  CHECK(ok->product_name == "Genoa");
  CHECK(ok->hw_id == chip);
  Bytes wrapped = {0x04, 0x08};
  wrapped.insert(wrapped.end(), chip.begin(), chip.begin() + 8);
  ext[kOidHwId] = wrapped;
  REQUIRE(parse_vek_extensions(lookup));
  CHECK(parse_vek_extensions(lookup)->hw_id == Bytes(chip.begin(), chip.begin() + 8));

  const std::map<std::string, Bytes> good = ext;
  const std::vector<std::pair<const char*, Bytes>> bad = {
      {kOidBlSpl, {0x02, 0x01}},                    // no content
      {kOidBlSpl, {0x03, 0x01, 0x07}},              // not an INTEGER
      {kOidBlSpl, {0x02, 0x02, 0x07}},              // length past the bytes
      {kOidBlSpl, {0x02, 0x03, 0x00, 0x00, 0x80}},  // more than a byte's range
      {kOidTeeSpl, {0x02, 0x01, 0x80}},             // negative
      {kOidTeeSpl, {0x02, 0x02, 0x00, 0x05}},       // not minimal
      {kOidTeeSpl, {0x02, 0x02, 0x01, 0x00}},       // 256
      {kOidProductName, {0x0C, 0x05, 'G', 'e', 'n', 'o', 'a'}},  // UTF8String, not IA5
      {kOidProductName, {0x16, 0x06, 'G', 'e', 'n', 'o', 'a'}},  // length past the bytes
      {kOidProductName, {0x16}},
      {kOidCspId, {0x16, 0x03, 'a', 0xC3, 'b'}},                 // not ASCII
      {kOidHwId, Bytes(63, 0xAB)},
      {kOidHwId, Bytes(66, 0xAB)},                                // 66 bytes that are no OCTET STRING
  };
  for (const auto& [oid, value] : bad) {
    const std::string where = oid;
    const std::string bytes = to_hex(value);
    CAPTURE(where);
    CAPTURE(bytes);
    ext = good;
    ext[oid] = value;
    CHECK(refused_on(oid) == "refused");
  }
}

TEST_CASE("report input: an Azure HCL report hashes its runtime data with SHA-256 only, and hex text is hex of exactly one report") {
  auto dir = test::require_vectors("snp");
  Bytes hcl = test::slurp(dir / "azure_hcl/trustee_az_milan_v2_hcl_report.bin");
  REQUIRE(extract_report(hcl));
  hcl[0x4CC] = 2;  // HCL runtime data hash_type: 2 (SHA-384) is not what the report binds
  auto other_hash = extract_report(hcl);
  REQUIRE_FALSE(other_hash);
  CHECK(other_hash.error().field == "HCL hash_type");
  CHECK(other_hash.error().code == ErrorCode::kUnsupported);

  const std::string hex = to_hex(load("milan/tav_milan_v3_report.bin").raw);
  REQUIRE(extract_report(as_bytes(hex)));
  std::string bad_hex = hex;
  bad_hex[0] = 'z';
  auto not_hex = extract_report(as_bytes(bad_hex));
  REQUIRE_FALSE(not_hex);
  CHECK(not_hex.error().message.find("neither a 1184-byte report") != std::string::npos);
  const std::string short_text = hex.substr(2);
  auto short_hex = extract_report(as_bytes(short_text));
  REQUIRE_FALSE(short_hex);
  CHECK(short_hex.error().message.find("decodes to 1183 bytes, not 1184") != std::string::npos);
}

TEST_CASE("certificate table: at most 64 entries, and a table without its all-zero terminator is refused") {
  auto entries = [](size_t n, bool terminated) {
    Bytes t;
    for (size_t i = 0; i < n; ++i) {
      t.push_back(static_cast<std::uint8_t>(i + 1));  // unknown GUIDs, each its own; offset 0, length 0
      t.push_back(0xEE);
      t.resize(t.size() + 22, 0);
    }
    if (terminated) t.resize(t.size() + 24, 0);
    return t;
  };
  REQUIRE(parse_cert_table(entries(64, true)));
  CHECK(parse_cert_table(entries(64, true))->size() == 64);
  auto too_many = parse_cert_table(entries(65, true));
  REQUIRE_FALSE(too_many);
  CHECK(too_many.error().message.find("more than 64 entries") != std::string::npos);
  auto open_ended = parse_cert_table(entries(3, false));
  REQUIRE_FALSE(open_ended);
  CHECK(open_ended.error().message.find("no all-zero terminating entry") != std::string::npos);
}
