#include <doctest/doctest.h>
#include <algorithm>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/rsa.h>

#include "base/hex.h"
#include "crypto/digest.h"
#include "crypto/keys.h"
#include "crypto/ocsp.h"
#include "crypto/random.h"
#include "crypto/x509.h"
#include "crypto/x509_issue.h"
#include "support/vectors.h"

using namespace cci;
using namespace cci::crypto;

namespace {
std::string hex_digest(DigestAlg a, const char* s) { return to_hex(digest(a, as_bytes(s))); }
}  // namespace

TEST_CASE("digest: known answers for abc") {
  CHECK(hex_digest(DigestAlg::kSha256, "abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(hex_digest(DigestAlg::kSha384, "abc") ==
        "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7");
  CHECK(hex_digest(DigestAlg::kSha512, "abc") ==
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
  CHECK(hex_digest(DigestAlg::kBlake2b512, "abc") ==
        "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923");
  CHECK(hex_digest(DigestAlg::kSm3, "abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
}

TEST_CASE("digest: streaming equals one-shot") {
  Hasher h(DigestAlg::kSha256);
  h.update(as_bytes("a"));
  h.update(as_bytes(""));
  h.update(as_bytes("bc"));
  CHECK(to_hex(h.finish()) == hex_digest(DigestAlg::kSha256, "abc"));
}

TEST_CASE("hmac: RFC 4231 test case 1 and SM3") {
  Bytes key(20, 0x0b);
  auto mac = hmac(DigestAlg::kSha256, key, as_bytes("Hi There"));
  REQUIRE(mac);
  CHECK(to_hex(*mac) == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  auto sm3 = hmac(DigestAlg::kSm3, key, as_bytes("Hi There"));
  REQUIRE(sm3);
  CHECK(sm3->size() == 32);
}

TEST_CASE("ct_equal and random_bytes") {
  CHECK(ct_equal(as_bytes("abc"), as_bytes("abc")));
  CHECK_FALSE(ct_equal(as_bytes("abc"), as_bytes("abd")));
  CHECK_FALSE(ct_equal(as_bytes("abc"), as_bytes("ab")));
  auto a = random_bytes(32), b = random_bytes(32);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->size() == 32);
  CHECK(*a != *b);
}

TEST_CASE("ecdsa, sm2, ed25519: sign, verify, reject tampering") {
  for (auto type : {KeyType::kEcP256, KeyType::kEcP384, KeyType::kSm2, KeyType::kEd25519}) {
    CAPTURE(key_type_name(type));
    auto key = generate_key(type);
    REQUIRE(key);
    CHECK(key->type() == type);
    SignOptions opts;
    if (type == KeyType::kSm2) opts.sm2_id = "HYGON-SSD-PEK";
    auto sig = sign(*key, as_bytes("message"), opts);
    REQUIRE(sig);
    auto pub = key->public_key();
    CHECK(pub.type() == type);
    CHECK(verify(pub, as_bytes("message"), *sig, opts));
    auto wrong_msg = verify(pub, as_bytes("messagf"), *sig, opts);
    REQUIRE_FALSE(wrong_msg);
    CHECK(wrong_msg.error().code == ErrorCode::kVerificationFailed);
    Bytes flipped = *sig;
    flipped[flipped.size() / 2] ^= 1;
    CHECK_FALSE(verify(pub, as_bytes("message"), flipped, opts));
    if (type == KeyType::kSm2) {
      SignOptions other = opts;
      other.sm2_id = "1234567812345678";
      CHECK_FALSE(verify(pub, as_bytes("message"), *sig, other));  // the ID is part of the signature
    }
  }
}

TEST_CASE("sm2: an empty ID is refused, never defaulted") {
  auto key = generate_key(KeyType::kSm2);
  REQUIRE(key);
  auto sig = sign(*key, as_bytes("m"));
  REQUIRE_FALSE(sig);
  CHECK(sig.error().code == ErrorCode::kUsage);
}

TEST_CASE("keys: PEM round trip, encrypted keys need the right passphrase") {
  auto key = generate_key(KeyType::kEcP384);
  REQUIRE(key);
  auto plain = key->pem(std::nullopt);
  REQUIRE(plain);
  auto back = load_private_key_pem(as_bytes(*plain), std::nullopt);
  REQUIRE(back);
  CHECK(back->public_key().spki_der() == key->public_key().spki_der());

  auto enc = key->pem(std::string("correct horse"));
  REQUIRE(enc);
  CHECK(enc->find("ENCRYPTED") != std::string::npos);
  auto no_pass = load_private_key_pem(as_bytes(*enc), std::nullopt);
  REQUIRE_FALSE(no_pass);
  CHECK(no_pass.error().code == ErrorCode::kInvalidInput);
  CHECK(no_pass.error().message.find("encrypted") != std::string::npos);
  auto wrong = load_private_key_pem(as_bytes(*enc), std::string("wrong"));
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().message.find("passphrase") != std::string::npos);
  auto right = load_private_key_pem(as_bytes(*enc), std::string("correct horse"));
  REQUIRE(right);

  CHECK_FALSE(load_private_key_pem(as_bytes("not a key"), std::nullopt));
  CHECK_FALSE(load_public_key_pem(as_bytes("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")));
}

TEST_CASE("ecdsa_le_rs_to_der: little-endian r,s as AMD stores them") {
  // r = 1, s = 0x0102 stored little-endian in 72-byte fields.
  Bytes r(72, 0), s(72, 0);
  r[0] = 1;
  s[0] = 0x02;
  s[1] = 0x01;
  auto der = ecdsa_le_rs_to_der(r, s);
  REQUIRE(der);
  CHECK(to_hex(*der) == "3007020101020201" "02");
}

TEST_CASE("rsa-pss: verifies with the pinned salt length only") {
  UniquePtr<EVP_PKEY> rsa(EVP_RSA_gen(2048));
  REQUIRE(rsa);
  UniquePtr<EVP_MD_CTX> md(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  REQUIRE(EVP_DigestSignInit(md.get(), &pctx, EVP_sha384(), nullptr, rsa.get()) == 1);
  REQUIRE(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1);
  REQUIRE(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) == 1);
  size_t len = 0;
  const std::string msg = "ASK certificate body";
  REQUIRE(EVP_DigestSign(md.get(), nullptr, &len, as_bytes(msg).data(), msg.size()) == 1);
  Bytes sig(len);
  REQUIRE(EVP_DigestSign(md.get(), sig.data(), &len, as_bytes(msg).data(), msg.size()) == 1);
  PrivateKey priv(std::move(rsa));
  auto pub = priv.public_key();
  CHECK(verify_rsa_pss(pub, DigestAlg::kSha384, 48, as_bytes(msg), sig));
  CHECK_FALSE(verify_rsa_pss(pub, DigestAlg::kSha384, 32, as_bytes(msg), sig));
  CHECK_FALSE(verify_rsa_pss(pub, DigestAlg::kSha384, 48, as_bytes("other"), sig));
}

TEST_CASE("x509: OMS test chain verifies at an explicit time, not outside validity") {
  auto keys = test::require_vectors("measure/oms/keys");
  auto ca = Certificate::from_pem(test::slurp(keys / "ca-cert.pem"));
  auto inter = Certificate::from_pem(test::slurp(keys / "int-ca-cert.pem"));
  auto leaf = Certificate::from_pem(test::slurp(keys / "signing-key-cert.pem"));
  REQUIRE(ca);
  REQUIRE(inter);
  REQUIRE(leaf);
  CHECK(ca->subject() == "CN=root-ca");
  std::vector<Certificate> inters;
  inters.push_back(std::move(*inter));
  std::vector<Certificate> roots;
  roots.push_back(std::move(*ca));
  const std::time_t in_2026 = 1767225600;   // 2026-01-01
  const std::time_t in_2040 = 2208988800;   // 2040-01-01, after notAfter (2035)
  const std::time_t in_2020 = 1577836800;   // before notBefore (2025)
  CHECK(verify_chain(*leaf, inters, roots, in_2026));
  auto expired = verify_chain(*leaf, inters, roots, in_2040);
  REQUIRE_FALSE(expired);
  CHECK(expired.error().message.find("expired") != std::string::npos);
  CHECK_FALSE(verify_chain(*leaf, inters, roots, in_2020));
  // Without the root as anchor there is no chain: intermediates are never trust anchors.
  CHECK_FALSE(verify_chain(*leaf, {}, inters, in_2026));
}

TEST_CASE("x509: garbage and trailing bytes are rejected") {
  CHECK_FALSE(Certificate::from_der(as_bytes("\x30\x03\x02\x01\x01")));
  CHECK_FALSE(parse_pem_bundle(as_bytes("no certificate here")));
}

TEST_CASE("crl: issued, parsed from DER and PEM, strict about trailing bytes") {
  auto key = *crypto::generate_rsa_key(2048);
  crypto::CertificateSpec spec;
  spec.subject = {{"CN", "ARK-Test"}};
  spec.not_before = 1600000000;
  spec.not_after = 2000000000;
  spec.ca = true;
  auto root = crypto::issue_certificate(spec, key.public_key(), key, nullptr, crypto::IssueSignature::kRsaPssSha384);
  REQUIRE(root);
  CHECK(root->signed_by(*root));
  CHECK(root->rsa_pss_params()->salt_length == 48);
  auto crl = crypto::issue_crl({1700000000, 1700086400, {7, 9}}, key, *root, crypto::IssueSignature::kRsaPssSha384);
  REQUIRE(crl);
  CHECK(crl->issuer() == "CN=ARK-Test");
  CHECK(crl->this_update() == 1700000000);
  CHECK(crl->next_update() == std::optional<std::time_t>(1700086400));
  CHECK(crl->revoked_count() == 2);
  CHECK(crl->signed_by(*root));
  CHECK(crl->rsa_pss_params()->digest == "SHA384");
  auto reparsed = crypto::Crl::parse(crl->der());
  REQUIRE(reparsed);
  CHECK(reparsed->der() == crl->der());
  const std::string as_pem = crl->pem();
  CHECK(as_pem.rfind("-----BEGIN X509 CRL-----\n", 0) == 0);
  auto from_pem = crypto::Crl::parse(as_bytes(as_pem));
  REQUIRE(from_pem);
  CHECK(from_pem->der() == crl->der());
  Bytes trailing = crl->der();
  trailing.push_back(0);
  CHECK_FALSE(crypto::Crl::parse(trailing));
  CHECK_FALSE(crypto::Crl::parse(Bytes{}));
  CHECK_FALSE(crypto::Crl::parse(ByteView(crl->der()).first(crl->der().size() - 1)));
  const std::string pem = "-----BEGIN X509 CRL-----\nnot base64\n-----END X509 CRL-----\n";
  CHECK_FALSE(crypto::Crl::parse(ByteView(reinterpret_cast<const std::uint8_t*>(pem.data()), pem.size())));
}

namespace {

// A DER OCSPResponse made with OpenSSL's own responder functions (RFC 6960 section 4.2.1), for
// checking check_ocsp_response against answers a test controls.
struct OcspAnswerSpec {
  const Certificate* about = nullptr;   // CertID: this certificate ...
  const Certificate* issuer = nullptr;  // ... issued by this one
  const Certificate* signer = nullptr;  // ResponderID and signature
  const PrivateKey* signer_key = nullptr;
  bool include_signer = false;          // the signer's certificate in the response's certs
  bool by_key = false;                  // ResponderID byKey instead of byName
  int status = V_OCSP_CERTSTATUS_GOOD;
  int reason = -1;
  Bytes nonce;
  std::time_t this_update = 1700000000;
  std::time_t next_update = 1700086400;
};

Bytes ocsp_answer(const OcspAnswerSpec& s) {
  OCSP_BASICRESP* bs = OCSP_BASICRESP_new();
  OCSP_CERTID* id = OCSP_cert_to_id(EVP_sha384(), s.about->get(), s.issuer->get());
  ASN1_TIME* tu = ASN1_TIME_set(nullptr, s.this_update);
  ASN1_TIME* nu = ASN1_TIME_set(nullptr, s.next_update);
  ASN1_TIME* rev = ASN1_TIME_set(nullptr, s.this_update - 3600);
  REQUIRE(OCSP_basic_add1_status(bs, id, s.status, s.reason, s.status == V_OCSP_CERTSTATUS_REVOKED ? rev : nullptr, tu, nu));
  if (!s.nonce.empty()) REQUIRE(OCSP_basic_add1_nonce(bs, const_cast<unsigned char*>(s.nonce.data()), static_cast<int>(s.nonce.size())) == 1);
  const unsigned long flags = (s.include_signer ? 0 : OCSP_NOCERTS) | (s.by_key ? OCSP_RESPID_KEY : 0);
  REQUIRE(OCSP_basic_sign(bs, s.signer->get(), s.signer_key->get(), EVP_sha384(), nullptr, flags) == 1);
  OCSP_RESPONSE* resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
  REQUIRE(resp);
  unsigned char* der = nullptr;
  const int n = i2d_OCSP_RESPONSE(resp, &der);
  REQUIRE(n > 0);
  Bytes out(der, der + n);
  OPENSSL_free(der);
  OCSP_RESPONSE_free(resp);
  OCSP_BASICRESP_free(bs);
  OCSP_CERTID_free(id);
  ASN1_TIME_free(tu);
  ASN1_TIME_free(nu);
  ASN1_TIME_free(rev);
  return out;
}

Certificate test_certificate(const std::string& cn, const PrivateKey& subject, const PrivateKey& issuer_key, const Certificate* issuer, bool ca,
                             std::optional<std::string> eku = std::nullopt, std::time_t not_after = 2000000000, std::vector<RawExtension> ext = {}) {
  CertificateSpec spec;
  spec.subject = {{"CN", cn}};
  spec.serial = static_cast<std::uint64_t>(cn.size()) * 1000 + static_cast<std::uint64_t>(cn.back());
  spec.not_before = 1600000000;
  spec.not_after = not_after;
  spec.ca = ca;
  spec.extended_key_usage = std::move(eku);
  spec.extensions = std::move(ext);
  auto c = issue_certificate(spec, subject.public_key(), issuer_key, issuer, IssueSignature::kEcdsaSha384);
  REQUIRE_MESSAGE(c, c.error().message);
  return std::move(*c);
}

}  // namespace

TEST_CASE("ocsp: the issuer's or a delegated responder's signed answer about the certificate, with the request's nonce, anything else refused on its check") {
  auto key = [] { return *generate_key(KeyType::kEcP384); };
  const PrivateKey ca_key = key(), leaf_key = key(), other_key = key(), resp_key = key();
  const Certificate ca = test_certificate("OCSP Test CA", ca_key, ca_key, nullptr, true);
  const Certificate leaf = test_certificate("OCSP Test Leaf", leaf_key, ca_key, &ca, false);
  const Certificate sibling = test_certificate("OCSP Test Sibling", leaf_key, ca_key, &ca, false);
  const Certificate impostor_ca = test_certificate("OCSP Test CA", other_key, other_key, nullptr, true);  // the CA's name, another key
  const Certificate responder = test_certificate("OCSP Responder", resp_key, ca_key, &ca, false, "OCSPSigning");
  const Certificate no_eku = test_certificate("OCSP Responder X", resp_key, ca_key, &ca, false);
  const Certificate expired = test_certificate("OCSP Responder E", resp_key, ca_key, &ca, false, "OCSPSigning", 1650000000);
  const Certificate self_made = test_certificate("OCSP Responder S", resp_key, resp_key, nullptr, false, "OCSPSigning");
  const Bytes nonce(32, 0x5C);
  const std::time_t at = 1700000100;
  OcspAnswerSpec base;
  base.about = &leaf;
  base.issuer = &ca;
  base.signer = &ca;
  base.signer_key = &ca_key;
  base.nonce = nonce;
  auto field = [&](const Bytes& der, ByteView expect_nonce = {}) {
    auto r = check_ocsp_response(der, leaf, ca, at, expect_nonce);
    return r ? std::string("good") : r.error().field;
  };

  const Bytes good = ocsp_answer(base);
  auto a = check_ocsp_response(good, leaf, ca, at, nonce);
  REQUIRE_MESSAGE(a, a.error().message);
  CHECK(a->status == OcspStatus::kGood);
  CHECK(a->responder == "(the issuer)");
  CHECK(a->this_update == 1700000000);
  CHECK(a->next_update == std::optional<std::time_t>(1700086400));
  CHECK(field(good) == "good");  // no nonce asked: none required

  SUBCASE("the nonce: another, or none, is a replay") {
    CHECK(field(good, Bytes(32, 0x5D)) == "ocsp.nonce");
    CHECK(field(good, Bytes(31, 0x5C)) == "ocsp.nonce");
    OcspAnswerSpec s = base;
    s.nonce.clear();
    CHECK(field(ocsp_answer(s), nonce) == "ocsp.nonce");
  }
  SUBCASE("one DER response and nothing after it") {
    Bytes trailing = good;
    trailing.push_back(0x00);
    auto r = check_ocsp_response(trailing, leaf, ca, at);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("trailing bytes") != std::string::npos);
    CHECK_FALSE(ocsp_response_well_formed(trailing));
    CHECK(ocsp_response_well_formed(good));
  }
  SUBCASE("an answer about another certificate of the same issuer") {
    OcspAnswerSpec s = base;
    s.about = &sibling;
    const Bytes other = ocsp_answer(s);
    CHECK(field(other, nonce) == "ocsp.certID");
    CHECK(ocsp_response_names(other, sibling, ca));
    CHECK_FALSE(ocsp_response_names(other, leaf, ca));
  }
  SUBCASE("signed under the issuer's name by another key") {
    OcspAnswerSpec s = base;
    s.signer = &impostor_ca;
    s.signer_key = &other_key;
    CHECK(field(ocsp_answer(s), nonce) == "ocsp.signature");
  }
  SUBCASE("a ResponderID by key hash names the issuer too") {
    OcspAnswerSpec s = base;
    s.by_key = true;
    auto r = check_ocsp_response(ocsp_answer(s), leaf, ca, at, nonce);
    REQUIRE_MESSAGE(r, r.error().message);
    CHECK(r->responder == "(the issuer)");
    s.signer = &impostor_ca;
    s.signer_key = &other_key;
    CHECK(field(ocsp_answer(s), nonce) == "ocsp.responderID");  // its key hash is not the issuer's
  }
  SUBCASE("a delegated responder: issued by the issuer, id-kp-OCSPSigning, valid at the time asked about") {
    OcspAnswerSpec s = base;
    s.signer_key = &resp_key;
    s.include_signer = true;
    s.signer = &responder;
    auto r = check_ocsp_response(ocsp_answer(s), leaf, ca, at, nonce);
    REQUIRE_MESSAGE(r, r.error().message);
    CHECK(r->responder == "OCSP Responder");
    const std::vector<std::pair<const Certificate*, std::string>> refused = {
        {&no_eku, "lacks the extended key usage id-kp-OCSPSigning"},
        {&expired, "is not valid at the time asked about"},
        {&self_made, "was not issued by OCSP Test CA"},
    };
    for (const auto& item : refused) {  // named copies: clang 14 cannot capture structured bindings (CAPTURE)
      const auto& cert = std::get<0>(item);
      const auto& why = std::get<1>(item);
      CAPTURE(why);
      s.signer = cert;
      auto e = check_ocsp_response(ocsp_answer(s), leaf, ca, at, nonce);
      REQUIRE_FALSE(e);
      CHECK(e.error().field == "ocsp.responderID");
      CHECK(e.error().message.find(why) != std::string::npos);
    }
    s.signer = &responder;
    s.include_signer = false;  // named but not carried
    CHECK(field(ocsp_answer(s), nonce) == "ocsp.responderID");
  }
  SUBCASE("revoked, with its time and reason; unknown") {
    OcspAnswerSpec s = base;
    s.status = V_OCSP_CERTSTATUS_REVOKED;
    s.reason = OCSP_REVOKED_STATUS_KEYCOMPROMISE;
    auto r = check_ocsp_response(ocsp_answer(s), leaf, ca, at, nonce);
    REQUIRE_MESSAGE(r, r.error().message);
    CHECK(r->status == OcspStatus::kRevoked);
    CHECK(r->reason == "keyCompromise");
    CHECK(r->revoked_at == std::optional<std::time_t>(1700000000 - 3600));
    s.status = V_OCSP_CERTSTATUS_UNKNOWN;
    s.reason = -1;
    r = check_ocsp_response(ocsp_answer(s), leaf, ca, at, nonce);
    REQUIRE(r);
    CHECK(r->status == OcspStatus::kUnknown);
  }
  SUBCASE("not a basic response, empty, oversized: refused before anything is read") {
    // OCSPResponse { successful, responseBytes { id-pkix-ocsp-nonce (not id-pkix-ocsp-basic), OCTET STRING { 30 00 } } }
    const Bytes not_basic = {0x30, 0x16, 0x0a, 0x01, 0x00, 0xa0, 0x11, 0x30, 0x0f, 0x06, 0x09, 0x2b, 0x06, 0x01,
                             0x05, 0x05, 0x07, 0x30, 0x01, 0x02, 0x04, 0x02, 0x30, 0x00};
    auto r = check_ocsp_response(not_basic, leaf, ca, at, nonce);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("not a BasicOCSPResponse") != std::string::npos);
    CHECK(check_ocsp_response({}, leaf, ca, at).error().message == "OCSP response is empty");
    Bytes big = good;
    big.resize(kMaxOcspResponseSize + 1);
    CHECK(check_ocsp_response(big, leaf, ca, at).error().message.find("at most") != std::string::npos);
  }
  CHECK_FALSE(ocsp_request(leaf, ca, Bytes(129, 1)));
  CHECK(ocsp_request(leaf, ca, Bytes(128, 1)));
}

TEST_CASE("ocsp: a request names its certificate and nonce, a response's window decides currency, hostile bytes are errors") {
  auto key = *crypto::generate_key(crypto::KeyType::kEcP384);
  crypto::CertificateSpec spec;
  spec.subject = {{"CN", "OCSP Test CA"}};
  spec.not_before = 1600000000;
  spec.not_after = 2000000000;
  spec.ca = true;
  auto ca = crypto::issue_certificate(spec, key.public_key(), key, nullptr, crypto::IssueSignature::kEcdsaSha384);
  REQUIRE(ca);
  spec.subject = {{"CN", "OCSP Test Leaf"}};
  spec.ca = false;
  spec.serial = 77;
  auto leaf = crypto::issue_certificate(spec, key.public_key(), key, &*ca, crypto::IssueSignature::kEcdsaSha384);
  REQUIRE(leaf);
  const Bytes nonce(32, 0xA5);
  auto req = crypto::ocsp_request(*leaf, *ca, nonce);
  REQUIRE(req);
  CHECK(req->front() == 0x30);
  // The nonce travels as an OCTET STRING inside the extension (RFC 8954): 04 20 || nonce.
  Bytes wrapped(2 + nonce.size(), 0xA5);
  wrapped[0] = 0x04;
  wrapped[1] = 0x20;
  CHECK(std::search(req->begin(), req->end(), wrapped.begin(), wrapped.end()) != req->end());
  auto plain = crypto::ocsp_request(*leaf, *ca, {}, "sha1");
  REQUIRE(plain);
  CHECK(std::search(plain->begin(), plain->end(), wrapped.begin(), wrapped.end()) == plain->end());
  CHECK_FALSE(crypto::ocsp_request(*leaf, *ca, {}, "md5"));

  crypto::OcspAnswer a;
  a.status = crypto::OcspStatus::kGood;
  a.this_update = 1000000;
  a.next_update = 1086400;
  CHECK(a.current_at(1000000));
  CHECK(a.current_at(1000000 - 300));       // the slack before thisUpdate
  CHECK_FALSE(a.current_at(1000000 - 301));
  CHECK(a.current_at(1086400));
  CHECK_FALSE(a.current_at(1086401));
  a.next_update.reset();                    // no promise: a day after thisUpdate
  CHECK(a.current_at(1086400));
  CHECK_FALSE(a.current_at(1086401));

  // Not responses: empty, a request, a certificate, oversized; each an error, never an answer.
  CHECK_FALSE(crypto::ocsp_response_well_formed({}));
  CHECK(crypto::ocsp_response_well_formed(*req).error().code == ErrorCode::kMalformed);
  CHECK_FALSE(crypto::ocsp_response_well_formed(leaf->der()));
  CHECK_FALSE(crypto::ocsp_response_well_formed(Bytes(crypto::kMaxOcspResponseSize + 1, 0x30)));
  CHECK_FALSE(crypto::ocsp_response_names(*req, *leaf, *ca));
  auto c = crypto::check_ocsp_response(leaf->der(), *leaf, *ca, 1700000000);
  REQUIRE_FALSE(c);
  CHECK(c.error().code == ErrorCode::kMalformed);
  // OCSPResponse { responseStatus tryLater (3) }: well-formed DER, not an answer.
  const Bytes try_later{0x30, 0x03, 0x0a, 0x01, 0x03};
  auto t = crypto::ocsp_response_well_formed(try_later);
  REQUIRE_FALSE(t);
  CHECK(t.error().message.find("trylater (3), not successful") != std::string::npos);
}

TEST_CASE("x509: one DER certificate and nothing after it, each extension at most once, one signature algorithm") {
  const PrivateKey key = *generate_key(KeyType::kEcP384);
  const std::string oid = "1.3.6.1.4.1.3704.1.2";
  auto make = [&](std::vector<RawExtension> ext) { return test_certificate("x509 test", key, key, nullptr, false, std::nullopt, 2000000000, std::move(ext)); };
  const Bytes value{0x16, 0x01, 'x'};
  const Certificate once = make({{oid, value, false}});
  CHECK(once.extension_value(oid)->value() == value);
  CHECK_FALSE(once.extension_value("1.3.6.1.4.1.3704.1.3.1")->has_value());
  REQUIRE(once.tbs_without_extension(oid));

  Bytes trailing = once.der();
  trailing.push_back(0x00);
  auto t = Certificate::from_der(trailing);
  REQUIRE_FALSE(t);
  CHECK(t.error().message.find("trailing bytes") != std::string::npos);

  // The same extension twice: which one would a reader take? Neither.
  const Certificate twice = make({{oid, value, false}, {oid, Bytes{0x16, 0x01, 'y'}, false}});
  auto dup = twice.extension_value(oid);
  REQUIRE_FALSE(dup);
  CHECK(dup.error().message.find("more than once") != std::string::npos);
  CHECK(twice.tbs_without_extension(oid).error().field == "certificate");
  CHECK(once.tbs_without_extension("1.3.6.1.4.1.3704.1.3.1").error().field == "certificate");
  CHECK(once.tbs_without_extension("not an oid").error().code == ErrorCode::kUsage);

  // signatureAlgorithm outside the TBS must equal the one inside: ecdsa-with-SHA384 outside made SHA256.
  const Bytes alg384{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03};
  Bytes outer = once.der();
  auto last = std::find_end(outer.begin(), outer.end(), alg384.begin(), alg384.end());
  REQUIRE(last != outer.end());
  REQUIRE(std::search(outer.begin(), last, alg384.begin(), alg384.end()) != last);  // the TBS copy comes first
  *(last + static_cast<std::ptrdiff_t>(alg384.size()) - 1) = 0x02;
  auto differs = Certificate::from_der(outer);
  REQUIRE(differs);
  auto sa = differs->signature_algorithm_der();
  REQUIRE_FALSE(sa);
  CHECK(sa.error().message.find("two signature algorithm fields differ") != std::string::npos);
  CHECK_FALSE(differs->rsa_pss_params());
  auto not_pss = once.rsa_pss_params();
  REQUIRE_FALSE(not_pss);
  CHECK(not_pss.error().message.find("is not signed with RSASSA-PSS") != std::string::npos);
}
