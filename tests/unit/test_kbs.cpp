// The trustee KBS protocol 0.4.0 client pieces (common/kbs) against vectors/kbs/manifest.json:
// every golden JCS and binding case, the sample attestation check, the problem-document errors,
// and all 18 JWE cases (7 accepted with their plaintext, 11 refused naming the failed check).
// The RFC 3394 key-wrap and RFC 7518 Concat KDF values are exercised inside libjose by the JWE
// cases (cci has no key-wrap or KDF code of its own). SEV-SNP evidence in trustee's JSON shape is
// checked against trustee's own e2e evidence (vectors/snp/genoa), whose raw report was rebuilt
// from that JSON and verifies with its VCEK.
#include <doctest/doctest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "base/hex.h"
#include "crypto/digest.h"
#include "kbs/errors.h"
#include "kbs/jwe.h"
#include "kbs/key_source.h"
#include "kbs/runtime_data.h"
#include "kbs/trustee_evidence.h"
#include "csv/evidence.h"
#include "csv/report.h"
#include "support/vectors.h"

using namespace cci;
using namespace cci::kbs;
using nlohmann::json;

namespace {

json load(const std::filesystem::path& p) {
  const Bytes b = test::slurp(p);
  return json::parse(b.begin(), b.end());
}

std::string sha384_hex(const std::string& s) { return to_hex(crypto::digest(crypto::DigestAlg::kSha384, as_bytes(s))); }

}  // namespace

TEST_CASE("every case of the KBS manifest is covered here") {
  const auto dir = test::require_vectors("kbs");
  const json m = load(dir / "manifest.json");
  std::map<std::string, int> kinds;
  for (const auto& c : m["cases"]) ++kinds[c["kind"].get<std::string>()];
  CHECK(m["cases"].size() == 32);
  CHECK(kinds == std::map<std::string, int>{{"aad", 1}, {"attestation", 3}, {"binding", 6}, {"concat-kdf", 1}, {"error-body", 1},
                                            {"jcs-sha384", 1}, {"jwe", 18}, {"kw", 1}});
}

TEST_CASE("JCS and the runtime-data binding: trustee's golden and the six binding cases") {
  const auto dir = test::require_vectors("kbs");
  const json g = load(dir / "golden/jcs_sha384_trustee.json");
  auto text = jcs(json::parse(g["input_json"].get<std::string>()));
  REQUIRE(text);
  CHECK(*text == g["jcs"].get<std::string>());
  CHECK(sha384_hex(*text) == g["sha384_hex"].get<std::string>());
  CHECK_FALSE(jcs(json::parse("{\"a\":1.5}")));  // non-integers are refused, not guessed
  // Escapes as ECMAScript writes them.
  CHECK(*jcs(json{{"s", std::string("q\"\\\b\f\n\r\t\x01\x1f/é")}}) == "{\"s\":\"q\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f/é\"}");

  const json b = load(dir / "protocol/runtime_data_binding.json");
  REQUIRE(b["cases"].size() == 6);
  for (const auto& c : b["cases"]) {
    const std::string id = c["id"];
    CAPTURE(id);
    const json& rd = c["runtime_data_object"];
    auto canonical = jcs(rd);
    REQUIRE(canonical);
    CHECK(*canonical == c["jcs_utf8"].get<std::string>());
    const json key = tee_pubkey_json(rd["tee-pubkey"]["x"], rd["tee-pubkey"]["y"]);
    const std::string tee = c["tee"];
    auto digest = tee == "device" ? device_runtime_data_digest(rd["nonce"], key)
                                  : runtime_data_digest(rd["nonce"], key, rd["additional-evidence"].get<std::string>());
    REQUIRE(digest);
    CHECK(to_hex(*digest) == c["sha384_hex"].get<std::string>());
    if (c.contains("report_data_hex_64")) CHECK(to_hex(*report_data_for(tee, *digest)) == c["report_data_hex_64"].get<std::string>());
    if (c.contains("sample_evidence")) CHECK(base64_encode(*report_data_for("sample", *digest)) == c["sample_evidence"]["report_data"].get<std::string>());
    if (c.contains("nvidia_spdm_nonce_hex_32")) CHECK(to_hex(ByteView(*digest).first(32)) == c["nvidia_spdm_nonce_hex_32"].get<std::string>());
    if (c.contains("hygon_dcu_mnonce_hex_64")) CHECK(to_hex(*report_data_for("csv", *digest)) == c["hygon_dcu_mnonce_hex_64"].get<std::string>());
  }
  CHECK_FALSE(report_data_for("tdx-unknown", Bytes(48)));
}

TEST_CASE("the KBS's own binding check: consistent accepted, a stale nonce and an extra JWK member refused") {
  const auto dir = test::require_vectors("kbs");
  const std::string nonce = load(dir / "protocol/challenge.json")["nonce"];
  const json m = load(dir / "manifest.json");
  int seen = 0;
  for (const auto& c : m["cases"]) {
    if (c["kind"] != "attestation") continue;
    ++seen;
    const std::string id = c["id"];
    CAPTURE(id);
    auto st = check_sample_attestation(load(dir / c["file"].get<std::string>()), nonce);
    if (c["expect"] == "accept") {
      CHECK(st);
    } else {
      REQUIRE_FALSE(st);
      CHECK(st.error().field == c["failing_check"].get<std::string>());
    }
  }
  CHECK(seen == 3);
}

TEST_CASE("KBS problem documents: the variant names the case, PolicyDeny is told from an expired session") {
  const auto dir = test::require_vectors("kbs");
  const json e = load(dir / "golden/error_bodies.json");
  const std::string prefix = e["type_prefix"];
  CHECK(prefix == kErrorTypePrefix);
  for (const auto& b : e["bodies"]) {
    const std::string body = b["body"];
    CAPTURE(body);
    const KbsError k = parse_error_body(b["status"].get<int>(), body);
    const json j = json::parse(body);
    CHECK(k.variant == j["type"].get<std::string>().substr(prefix.size()));
    CHECK(k.detail == j["detail"].get<std::string>());
    CHECK(k.policy_deny() == (k.variant == "PolicyDeny"));
  }
  const KbsError deny = parse_error_body(401, R"({"type":"https://github.com/confidential-containers/kbs/errors/PolicyDeny","detail":"Access denied by policy"})");
  CHECK(deny.policy_deny());
  CHECK_FALSE(deny.reattest());
  CHECK(deny.message() == "KBS 401 PolicyDeny: Access denied by policy");
  CHECK(parse_error_body(401, R"({"type":"https://github.com/confidential-containers/kbs/errors/TokenNotFound","detail":"x"})").reattest());
  const KbsError junk = parse_error_body(502, "<html>\nbad gateway</html>");
  CHECK(junk.variant.empty());
  CHECK(junk.detail == "<html> bad gateway</html>");
}

TEST_CASE("JWE: seven accepted with their plaintext, eleven refused naming the check, as the manifest says") {
  const auto dir = test::require_vectors("kbs");
  const json m = load(dir / "manifest.json");
  int accepted = 0, refused = 0;
  for (const auto& c : m["cases"]) {
    if (c["kind"] != "jwe") continue;
    const std::string id = c["id"];
    CAPTURE(id);
    auto key = TeeKey::from_private_jwk(load(dir / c["key"].get<std::string>()));
    REQUIRE(key);
    const Bytes jwe = test::slurp(dir / c["file"].get<std::string>());
    auto plain = decrypt_resource(as_chars(jwe), *key);
    if (c["expect"] == "accept") {
      REQUIRE_MESSAGE(plain, (plain ? "" : plain.error().message));
      const Bytes want = test::slurp(dir / c["plaintext"].get<std::string>());
      CHECK(Bytes(plain->view().begin(), plain->view().end()) == want);
      ++accepted;
    } else {
      REQUIRE_FALSE(plain);
      CHECK(plain.error().field == c["failing_check"].get<std::string>());
      CHECK(plain.error().code == ErrorCode::kVerificationFailed);
      ++refused;
    }
  }
  CHECK(accepted == 7);
  CHECK(refused == 11);
}

TEST_CASE("JWE: text that is no JSON object, a member missing, not base64url or of an impossible length is refused naming it") {
  const auto dir = test::require_vectors("kbs");
  const json m = load(dir / "manifest.json");
  const json* accepted = nullptr;
  for (const auto& c : m["cases"]) {
    if (c["kind"] == "jwe" && c["expect"] == "accept") accepted = &c;
  }
  REQUIRE(accepted);
  auto key = TeeKey::from_private_jwk(load(dir / (*accepted)["key"].get<std::string>()));
  REQUIRE(key);
  const json good = load(dir / (*accepted)["file"].get<std::string>());
  REQUIRE(decrypt_resource(good.dump(), *key));
  auto field_of = [&](const std::string& text) {
    auto r = decrypt_resource(text, *key);
    return r ? std::string("accepted") : r.error().field;
  };
  CHECK(field_of("[]") == "jwe");
  CHECK(field_of("not json") == "jwe");
  for (const char* name : {"iv", "tag", "encrypted_key", "ciphertext"}) {
    CAPTURE(name);
    json j = good;
    j.erase(name);
    CHECK(field_of(j.dump()) == name);
    j[name] = 12;
    CHECK(field_of(j.dump()) == name);
    j[name] = "AAAA*AAA";  // a character outside base64url
    CHECK(field_of(j.dump()) == name);
    j[name] = "AAAAA";  // 5 characters cannot encode whole bytes
    CHECK(field_of(j.dump()) == name);
  }
  CHECK(b64url_decode("AAAAA", "x").error().message.find("impossible base64url length") != std::string::npos);
  // A protected header that is no JSON object (never an exception from reading its members).
  for (const std::string header : {"[\"alg\"]", "{\"alg\":", "\"ECDH-ES+A256KW\""}) {
    CAPTURE(header);
    json j = good;
    j["protected"] = b64url_encode(ByteView(reinterpret_cast<const std::uint8_t*>(header.data()), header.size()));
    CHECK(field_of(j.dump()) == "protected");
  }
  // Only the flattened members trustee sends, and in the protected header only alg, enc, epk.
  for (const char* extra : {"aad", "recipients", "header"}) {
    json j = good;
    j[extra] = "AAAA";
    CHECK(field_of(j.dump()) == "jwe");
  }
  {
    json j = good;
    j.erase("protected");
    CHECK(field_of(j.dump()) == "protected");
  }
  auto b64 = [](const Bytes& b) { return b64url_encode(b); };
  const Bytes protected_bytes = *b64url_decode(good["protected"].get<std::string>(), "protected");
  const json header = json::parse(as_chars(protected_bytes));
  auto with_header = [&](const json& h) {
    json j = good;
    const std::string text = h.dump();
    j["protected"] = b64(Bytes(text.begin(), text.end()));
    return field_of(j.dump());
  };
  json h = header;
  h["crit"] = json::array({"exp"});
  CHECK(with_header(h) == "crit");
  h = header;
  h["kid"] = "trustee";
  CHECK(with_header(h) == "protected");
  h = header;
  h.erase("epk");
  CHECK(with_header(h) == "epk-location");
  h["epk"] = "not an object";
  CHECK(with_header(h) == "epk-location");
  h = header;
  h["epk"]["crv"] = "P-384";  // a P-256 point labelled as another curve
  CHECK(with_header(h) == "epk");
  h["epk"]["crv"] = "P-256";
  h["epk"]["kty"] = "OKP";
  CHECK(with_header(h) == "epk");
  // The private JWK the client holds: EC P-256 with all of x, y, d.
  const json jwk = load(dir / (*accepted)["key"].get<std::string>());
  for (const auto& item : std::vector<std::pair<std::string, json>>{{"kty", "RSA"}, {"crv", "P-384"}, {"d", nullptr}, {"x", "AA"}}) {  // named copies: clang 14 cannot capture structured bindings (CAPTURE)
    const auto& member = std::get<0>(item);
    const auto& value = std::get<1>(item);
    CAPTURE(member);
    json k = jwk;
    if (value.is_null()) k.erase(member);
    else k[member] = value;
    CHECK_FALSE(TeeKey::from_private_jwk(k));
  }
  CHECK_FALSE(TeeKey::from_private_jwk(json::array()));
}

TEST_CASE("the tee-pubkey: a fresh key exports exactly kty, crv, alg, x, y with 32-byte coordinates") {
  const auto dir = test::require_vectors("kbs");
  for (int i = 0; i < 8; ++i) {
    auto k = TeeKey::generate();
    REQUIRE(k);
    const json pub = k->public_jwk();
    CHECK(pub.size() == 5);
    CHECK(b64url_decode(pub["x"].get<std::string>(), "x")->size() == 32);
    CHECK(b64url_decode(pub["y"].get<std::string>(), "y")->size() == 32);
  }
  // The vectors' key whose x starts with a zero byte keeps its 32-byte, 43-character form.
  const json lz = load(dir / "keys/tee-p256-x-leading-zero.private.jwk.json");
  auto k = TeeKey::from_private_jwk(lz);
  REQUIRE(k);
  CHECK(k->public_jwk() == load(dir / "keys/tee-p256-x-leading-zero.tee-pubkey.json"));
  CHECK(k->public_jwk()["x"].get<std::string>().size() == 43);
  // A private JWK whose d does not match its point is refused.
  json bad = lz;
  bad["d"] = load(dir / "keys/other-p256.private.jwk.json")["d"];
  CHECK_FALSE(TeeKey::from_private_jwk(bad));
  CHECK_FALSE(b64url_decode("ab=", "x"));
  CHECK_FALSE(b64url_decode("a+b", "x"));
}

TEST_CASE("--key-source: the four forms, and what is refused naming the flag") {
  auto push = cci::kbs::parse_key_source("push");
  REQUIRE(push);
  CHECK(push->name() == "push");
  auto file = cci::kbs::parse_key_source("file:///run/keys/dek.bin");
  REQUIRE(file);
  CHECK(file->name() == "file");
  CHECK(file->path == "/run/keys/dek.bin");
  auto kbs = cci::kbs::parse_key_source("kbs://10.0.0.2:8080/default/llama-7b/dek");
  REQUIRE(kbs);
  CHECK(kbs->name() == "kbs");
  CHECK(kbs->host == "10.0.0.2");
  CHECK(kbs->port == 8080);
  CHECK(kbs->resource() == "default/llama-7b/dek");
  auto v6 = cci::kbs::parse_key_source("kbs://[fd00::2]:443/a/b/c");
  REQUIRE(v6);
  CHECK(v6->host == "fd00::2");
  auto cdh = cci::kbs::parse_key_source("cdh:///default/llama/dek");
  REQUIRE(cdh);
  CHECK(cdh->name() == "cdh");
  CHECK(cdh->resource() == "default/llama/dek");
  for (const char* bad : {"", "pushy", "file://", "kbs://host/a/b/c", "kbs://host:0/a/b/c", "kbs://host:99999/a/b/c", "kbs://host:80/a/b",
                          "kbs://host:80/a/../c", "kbs://host:80/a/b/c/d", "kbs://host:80/a/b c/d", "cdh://host/a/b/c", "cdh:///a//c", "ftp://x"}) {
    CAPTURE(bad);
    auto r = cci::kbs::parse_key_source(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == cci::ErrorCode::kUsage);
    CHECK(r.error().field == "key-source");
  }
}

TEST_CASE("SEV-SNP evidence in trustee's JSON shape: the genoa report and its VCEK give trustee's own evidence, field for field") {
  const auto dir = test::require_vectors("snp/genoa");
  const json expected = load(dir / "trustee_genoa_model0xa0_v3_evidence.json");
  const Bytes report = test::slurp(dir / "trustee_genoa_model0xa0_v3_report.bin");
  const Bytes vcek = test::slurp(dir / "trustee_genoa_model0xa0_v3_vcek.der");
  auto got = snp_evidence(report, {{"VCEK", vcek}});
  REQUIRE(got);
  // Field by field, so a difference names the field.
  REQUIRE(expected["attestation_report"].is_object());
  CHECK(got->at("attestation_report").size() == expected["attestation_report"].size());
  for (const auto& item : expected["attestation_report"].items()) {
    const std::string name = item.key();  // not a structured binding: CAPTURE cannot take one under clang 14 (the fuzz preset)
    CAPTURE(name);
    REQUIRE(got->at("attestation_report").contains(name));
    CHECK(got->at("attestation_report")[name] == item.value());
  }
  CHECK(got->at("cert_chain") == expected["cert_chain"]);
  CHECK(*got == expected);

  // No certificates: cert_chain is null (the attester found no extended report).
  auto bare = snp_evidence(report, {});
  REQUIRE(bare);
  CHECK(bare->at("cert_chain").is_null());
  // A flipped report byte changes exactly the field it sits in (measurement at 0x90).
  Bytes flipped = report;
  flipped[0x90] ^= 0x01;
  auto other = snp_evidence(flipped, {});
  REQUIRE(other);
  CHECK(other->at("attestation_report")["measurement"] != expected["attestation_report"]["measurement"]);
  CHECK(other->at("attestation_report")["report_data"] == expected["attestation_report"]["report_data"]);
  // Refused: a truncated report, an unknown certificate type, a version whose JSON is not known.
  CHECK_FALSE(snp_evidence(ByteView(report).first(1000), {}));
  auto bad_type = snp_evidence(report, {{"PEK", vcek}});
  REQUIRE_FALSE(bad_type);
  CHECK(bad_type.error().field == "cert_type");
  // Version 5 adds the mitigation vectors (little-endian u64 at 0x1F8 and 0x200); versions 2
  // and 3 have no such members. Version 4 is refused: the sev crate would read it as version 3.
  CHECK_FALSE(expected["attestation_report"].contains("launch_mit_vector"));
  Bytes v5 = report;
  v5[0] = 5;
  v5[0x1F8] = 0x03;
  v5[0x201] = 0x01;
  auto newer = snp_evidence(v5, {});
  REQUIRE(newer);
  CHECK(newer->at("attestation_report")["version"] == 5);
  CHECK(newer->at("attestation_report")["launch_mit_vector"] == 3);
  CHECK(newer->at("attestation_report")["current_mit_vector"] == 256);
  Bytes v4 = report;
  v4[0] = 4;
  auto four = snp_evidence(v4, {});
  REQUIRE_FALSE(four);
  CHECK(four.error().code == ErrorCode::kUnsupported);
}

TEST_CASE("CSV evidence in trustee's JSON shape: trustee's own csv evidence from its report page, and a raw firmware report restored") {
  const auto dir = test::require_vectors("csv");
  // trustee's test evidence (chip KPA64911240507): its page is already restored; written again
  // from that page it is the same evidence, member for member.
  const json expected = load(dir / "trustee_KPA64911240507_evidence_v1wrapper.json");
  Bytes page;
  for (const auto& b : expected["attestation_report"]["data"]) page.push_back(b.get<std::uint8_t>());
  auto got = csv_evidence(page, expected["cc_eventlog"].get<std::string>());
  REQUIRE(got);
  for (const auto& item : expected.items()) {
    const std::string name = item.key();
    CAPTURE(name);
    CHECK(got->at(name) == item.value());
  }
  CHECK(*got == expected);
  auto no_log = csv_evidence(page, std::nullopt);
  REQUIRE(no_log);
  CHECK(no_log->at("cc_eventlog").is_null());

  // A raw firmware report (csv-rs's test report, chip NZA9T14052605): PEK and chip ID masked
  // with anonce. The evidence carries them unmasked; the signed bytes are untouched, and cci's
  // own reader of trustee's shape gets the same report back.
  const Bytes raw = test::slurp(dir / "csvrs_NZA9T14052605_report_v1_raw.bin");
  auto masked = csv::parse_report(raw);
  REQUIRE(masked);
  REQUIRE(masked->pek_encoding == csv::PekEncoding::kMasked);
  auto ev = csv_evidence(raw, std::nullopt);
  REQUIRE(ev);
  CHECK(ev->at("attestation_report")["flags"] == 0);
  CHECK(ev->at("attestation_report")["data"].size() == csv::kReportPageSize);
  const std::string text = ev->dump();
  auto back = csv::extract_evidence(as_bytes(text));
  REQUIRE(back);
  CHECK(back->format == "trustee");
  REQUIRE(back->envelope_pek);
  CHECK(*back->envelope_pek == masked->pek.raw);
  CHECK(back->envelope_serial == std::optional<std::string>("NZA9T14052605"));
  auto restored = csv::parse_report(back->report, back->version);
  REQUIRE(restored);
  CHECK(restored->pek_encoding == csv::PekEncoding::kRestored);
  CHECK(to_hex(restored->signed_bytes()) == to_hex(masked->signed_bytes()));
  CHECK(restored->report_data == masked->report_data);
  CHECK(restored->measure == masked->measure);
  CHECK(restored->chip_id == "NZA9T14052605");
  // Refused: a truncated report, a page with bytes after the report.
  CHECK_FALSE(csv_evidence(ByteView(raw).first(2000), std::nullopt));
  Bytes dirty = raw;
  dirty.resize(csv::kReportPageSize, 0);
  dirty.back() = 1;
  CHECK_FALSE(csv_evidence(dirty, std::nullopt));
}

TEST_CASE("TDX evidence in trustee's JSON shape: the quote in standard base64, no event log, the TEE and REPORT_DATA rules") {
  const auto dir = test::require_vectors("tdx");
  const Bytes quote = test::slurp(dir / "quotes/trustee_00a06d08_v4.dat");
  auto ev = tdx_evidence(quote, std::nullopt);
  REQUIRE(ev);
  CHECK(ev->size() == 2);
  CHECK(ev->at("cc_eventlog").is_null());
  CHECK(*base64_decode(ev->at("quote").get<std::string>(), "quote") == quote);
  CHECK(tdx_evidence(quote, std::string("Q0NFTA=="))->at("cc_eventlog") == "Q0NFTA==");
  CHECK_FALSE(tdx_evidence(ByteView(quote).first(100), std::nullopt));  // a truncated quote is refused, not sent
  // The TEE: the hardware's own; a simulator is trustee's sample TEE unless named.
  CHECK(*kbs_tee_for("tdx", "auto") == "tdx");
  CHECK(*kbs_tee_for("sim-tdx", "auto") == "sample");
  CHECK(kbs_tee_for("tdx", "sample").error().field == "kbs-tee");
  CHECK(kbs_tee_for("tdx", "snp").error().field == "kbs-tee");
  // REPORT_DATA: the SHA-384 runtime-data digest padded to 64 bytes, as for SEV-SNP.
  auto rd = report_data_for("tdx", Bytes(48, 7));
  REQUIRE(rd);
  CHECK(rd->size() == 64);
  CHECK(std::all_of(rd->begin() + 48, rd->end(), [](std::uint8_t b) { return b == 0; }));
  // primary_evidence picks the shape by the TEE and refuses another vendor's evidence.
  evidence::EvidenceFile f;
  f.tee = "tdx";
  f.report = quote;
  CHECK(primary_evidence("tdx", f, Bytes(64, 0))->at("quote") == ev->at("quote"));
  CHECK(primary_evidence("tdx", f, Bytes(64, 0))->at("cc_eventlog").is_null());
  // The evidence's CC event log goes to trustee's verifier as cc_eventlog (base64), for its replay.
  f.event_log = Bytes{1, 2, 3, 250};
  CHECK(primary_evidence("tdx", f, Bytes(64, 0))->at("cc_eventlog") == base64_encode(*f.event_log));
  CHECK_FALSE(primary_evidence("csv", f, Bytes(64, 0)));
  CHECK_FALSE(primary_evidence("snp", f, Bytes(64, 0)));
}
