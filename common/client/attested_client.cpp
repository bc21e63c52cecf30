#include "client/attested_client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cstring>

#include "base/hex.h"
#include "crypto/digest.h"
#include "evidence/evidence_file.h"
#include "ratls/evidence_bridge.h"
#include "ratls/fresh.h"
#include "serve/http.h"
#include "serve/net.h"

namespace cci::client {

std::string Endpoint::label() const {
  const auto hostport = [this](const std::string& h) { return (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + port; };
  return address.empty() ? hostport(host) : hostport(address) + " (" + host + ")";
}

Result<Endpoint> parse_url(const std::string& url) {
  const std::string scheme = "https://";
  if (url.rfind(scheme, 0) != 0) return make_error(ErrorCode::kUsage, "the URL must start with https:// (attested TLS only)", "url");
  std::string rest = url.substr(scheme.size());
  if (const size_t slash = rest.find('/'); slash != std::string::npos) {
    if (rest.substr(slash) != "/") return make_error(ErrorCode::kUsage, "give the server's base URL, https://HOST:PORT", "url");
    rest = rest.substr(0, slash);
  }
  Endpoint e;
  if (!rest.empty() && rest[0] == '[') {
    const size_t close = rest.find(']');
    if (close == std::string::npos) return make_error(ErrorCode::kUsage, "unterminated IPv6 address in the URL", "url");
    e.host = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
    if (!rest.empty() && rest[0] != ':') return make_error(ErrorCode::kUsage, "expected :PORT after the IPv6 address", "url");
    e.port = rest.empty() ? "443" : rest.substr(1);
  } else {
    const size_t colon = rest.rfind(':');
    e.host = rest.substr(0, colon);
    e.port = colon == std::string::npos ? "443" : rest.substr(colon + 1);
  }
  if (e.host.empty() || e.port.empty() || e.port.find_first_not_of("0123456789") != std::string::npos) {
    return make_error(ErrorCode::kUsage, "expected https://HOST:PORT, not '" + url + "'", "url");
  }
  return e;
}

Result<std::vector<Endpoint>> resolve_replicas(const Endpoint& e) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = AF_UNSPEC;
  addrinfo* res = nullptr;
  if (const int rc = ::getaddrinfo(e.host.c_str(), e.port.c_str(), &hints, &res); rc != 0) {
    return make_error(ErrorCode::kIo, "cannot resolve " + e.host + ": " + ::gai_strerror(rc), "url");
  }
  std::vector<Endpoint> out;
  for (addrinfo* a = res; a; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    const void* raw = a->ai_family == AF_INET ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(a->ai_addr)->sin_addr)
                                              : static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(a->ai_addr)->sin6_addr);
    if ((a->ai_family != AF_INET && a->ai_family != AF_INET6) || !::inet_ntop(a->ai_family, raw, text, sizeof(text))) continue;
    Endpoint r = e;
    r.address = text;
    bool seen = false;
    for (const auto& x : out) seen = seen || x.address == r.address;
    if (!seen) out.push_back(std::move(r));
  }
  ::freeaddrinfo(res);
  if (out.empty()) return make_error(ErrorCode::kIo, e.host + " resolves to no address", "url");
  return out;
}

Result<Connection> connect(const Endpoint& e, double timeout_s) {
  CCI_ASSIGN(fd, serve::tcp_connect(e.address.empty() ? e.host : e.address, e.port));
  timeval tv{static_cast<time_t>(timeout_s), static_cast<suseconds_t>((timeout_s - static_cast<double>(static_cast<time_t>(timeout_s))) * 1e6)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  Connection c;
  CCI_ASSIGN(ctx, crypto::TlsContext::client());
  c.ctx = std::make_unique<crypto::TlsContext>(std::move(ctx));
  CCI_SET(c.tls, crypto::TlsConnection::connect(*c.ctx, fd, e.host));
  CCI_SET(c.cert, c.tls->peer_certificate());
  c.pin = crypto::public_key_pin(*c.cert);
  return c;
}

Result<Bytes> fetch_manifest(crypto::TlsConnection& tls, const Endpoint& e) {
  serve::ClientRequest req;
  req.method = "GET";
  req.target = "/v1/attestation/manifest";
  req.host = e.host;
  CCI_ASSIGN(res, serve::round_trip(tls, req, 64u << 20));  // manifest::kMaxReleaseManifestBytes
  if (res.status != 200) {
    return make_error(ErrorCode::kVerificationFailed,
                      "the server does not serve its manifest (GET /v1/attestation/manifest: HTTP " + std::to_string(res.status) +
                          "); give a copy with --deployment",
                      "manifest");
  }
  return Bytes(res.body.begin(), res.body.end());
}

Result<FreshAnswer> fetch_fresh(crypto::TlsConnection& tls, const Endpoint& e, const ratls::AttestedCertificate& cert) {
  CCI_ASSIGN(nonce, crypto::random_bytes(ratls::kNonceBytes));
  CCI_ASSIGN(exporter, tls.exporter(ratls::kExporterLabel, nonce, ratls::kExporterBytes));
  serve::ClientRequest req;
  req.method = "POST";
  req.target = "/v1/attestation/fresh";
  req.host = e.host;
  const std::string body = nlohmann::json{{"nonce", to_hex(nonce)}}.dump();
  req.body.assign(body.begin(), body.end());
  CCI_ASSIGN(res, serve::round_trip(tls, req, 1u << 20));
  if (res.status != 200) {
    return make_error(ErrorCode::kVerificationFailed, "the server answered the fresh-evidence request with HTTP " + std::to_string(res.status), "fresh");
  }
  return read_fresh_answer(ByteView(reinterpret_cast<const std::uint8_t*>(res.body.data()), res.body.size()), cert, nonce, exporter);
}

Result<FreshAnswer> read_fresh_answer(ByteView body, const ratls::AttestedCertificate& cert, ByteView nonce, ByteView exporter) {
  const auto j = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  if (!j.is_object() || !j.contains("evidence") || !j["evidence"].is_string()) {
    return make_error(ErrorCode::kMalformed, "the fresh-evidence answer is not {\"evidence\": base64}", "fresh");
  }
  CCI_ASSIGN(cbor, base64_decode(j["evidence"].get<std::string>(), "evidence"));
  FreshAnswer a;
  CCI_SET(a.evidence, ratls::decode_tagged_evidence(cbor));
  if (a.evidence.tag != cert.evidence.tag) return make_error(ErrorCode::kVerificationFailed, "the fresh evidence comes from another TEE type than the certificate's", "fresh");
  CCI_SET(a.claims, ratls::decode_claims(a.evidence.claims));
  CCI_TRY(ratls::check_fresh_claims(a.claims, cert.claims, nonce, exporter));
  // Confidential GPUs: evidence in the body exactly when the claims name it, and the same bytes.
  a.gpu_nonce = ratls::gpu_nonce(nonce, exporter);
  if (j.contains("gpu_evidence")) {
    if (!j["gpu_evidence"].is_string()) return make_error(ErrorCode::kMalformed, "the fresh-evidence answer's gpu_evidence is not base64 text", "fresh");
    CCI_ASSIGN(gpu, base64_decode(j["gpu_evidence"].get<std::string>(), "gpu_evidence"));
    CCI_TRY(ratls::check_gpu_binding(a.claims, gpu));
    a.gpu = std::move(gpu);
  } else if (a.claims.gpu_sha256) {
    return make_error(ErrorCode::kVerificationFailed, "the fresh evidence names GPU evidence (cci-gpu) that the answer does not carry", "cci-gpu");
  }
  return a;
}

Result<nlohmann::json> provision_key(crypto::TlsConnection& tls, const Endpoint& e, const crypto::SecretBytes& key) {
  CCI_ASSIGN(binding, tls.exporter(ratls::kModelKeyExporterLabel, {}, ratls::kExporterBytes));
  serve::ClientRequest req;
  req.method = "POST";
  req.target = "/v1/attestation/model-key";
  req.host = e.host;
  // The body is built in wiped memory (SecureString); the base64 copy of the key is wiped here.
  std::string key_b64 = base64_encode(key.view());
  req.body.append("{\"key\":\"").append(key_b64.data(), key_b64.size()).append("\",\"binding\":\"");
  const std::string binding_hex = to_hex(binding);
  req.body.append(binding_hex.data(), binding_hex.size()).append("\"}");
  crypto::secure_clear(key_b64.data(), key_b64.size());
  // The answer comes once the server has decrypted and checked the whole model (about a second
  // per GiB): wait up to 30 minutes for it, not the step timeout.
  const timeval long_wait{1800, 0};
  ::setsockopt(tls.fd(), SOL_SOCKET, SO_RCVTIMEO, &long_wait, sizeof(long_wait));
  CCI_ASSIGN(res, serve::round_trip(tls, req, 64 * 1024));
  const auto j = nlohmann::json::parse(res.body.begin(), res.body.end(), nullptr, false);
  if (res.status != 200) {
    std::string why = j.is_object() && j.contains("error") && j["error"].is_object() && j["error"].contains("message") && j["error"]["message"].is_string()
                          ? j["error"]["message"].get<std::string>()
                          : "HTTP " + std::to_string(res.status);
    // A refusal (wrong key, wrong binding, already provisioned, another key source) is exit 1; a server error exit 3.
    const ErrorCode code = res.status >= 400 && res.status < 500 ? ErrorCode::kVerificationFailed : ErrorCode::kIo;
    return make_error(code, "the server refused the model key (HTTP " + std::to_string(res.status) + "): " + why, "provision-key");
  }
  if (!j.is_object() || j.value("status", "") != "provisioned") return make_error(ErrorCode::kMalformed, "the server's answer to the model key is not {\"status\": \"provisioned\"}", "provision-key");
  return j;
}

Result<manifest::Release> claimed_release(const ratls::Claims& c, Bytes manifest, manifest::ReleaseSigner signer, std::time_t at,
                                          const std::string& label) {
  if (!crypto::ct_equal(crypto::digest(crypto::DigestAlg::kSha256, manifest), c.manifest_sha256)) {
    return make_error(ErrorCode::kVerificationFailed,
                      label + " is not the manifest the certificate's claims name (cci-manifest sha256:" + to_hex(c.manifest_sha256) + ")", "cci-manifest");
  }
  auto release = manifest::verify_release(std::move(manifest), std::move(signer), at);
  if (!release) return make_error(release.error().code, label + ": " + release.error().message, release.error().field);
  return release;
}

Result<Bytes> evidence_document(std::uint64_t tag, ByteView evidence, const std::optional<ratls::Endorsements>& endorsements) {
  CCI_ASSIGN(e, ratls::evidence_file_of(tag, evidence, endorsements));
  const std::string text = evidence::write_evidence_file(e);
  return Bytes(text.begin(), text.end());
}

bool VerifiedKeys::contains(const std::string& pin) const {
  std::lock_guard<std::mutex> lock(mu_);
  return pins_.count(pin) != 0;
}

void VerifiedKeys::add(const std::string& pin) {
  std::lock_guard<std::mutex> lock(mu_);
  pins_.insert(pin);
}

size_t VerifiedKeys::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pins_.size();
}

}  // namespace cci::client
