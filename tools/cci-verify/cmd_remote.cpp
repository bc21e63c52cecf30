// cci-verify remote: checks a live cci-run serve endpoint before anything is sent to it
// (docs/architecture.md "Attested TLS"; docs/security.md, the promise end to end):
//   1. TLS 1.3 only; the server's certificate is read from the handshake;
//   2. the certificate: self-signed, CA:FALSE, at most 24 h, one evidence extension, strict CBOR,
//      pubkey-hash = its own key; claims: purpose, deployment id, manifest digest (and the
//      manifest's own signature);
//   3. freshness: a random nonce goes to POST /v1/attestation/fresh; the answer's claims must
//      repeat the certificate's and carry our nonce and this connection's TLS exporter value
//      (a recorded answer, or one relayed from another connection, fails here);
//   4. the fresh report through the whole report pipeline (vendor chain, policy, measurement,
//      REPORT_DATA = SHA-256(fresh claims) || 0^32).
//   5. with --provision-key, and only when the verdict accepts: the model's key, on this very
//      connection, bound to its exporter value (POST /v1/attestation/model-key).
// On success it prints the certificate's public-key pin for curl --pinnedpubkey. Nothing but the
// nonce (and, when asked, the model key after the verdict) is ever sent (no API key, no prompt).
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <memory>

#include "attested_checks.h"
#include "base/hex.h"
#include "cli/inputs.h"
#include "commands.h"
#include "crypto/random.h"
#include "ratls/fresh.h"
#include "report_common.h"
#include "sealed/key_file.h"
#include "serve/http.h"
#include "crypto/tls.h"
#include "serve/net.h"

namespace cci::tools::verify {
namespace {

struct RemoteOptions {
  ReportOptions report;
  ExpectedClaims expect;
  std::string url;
  double timeout = 30;
  std::string provision_key;  // the model's key, sent only once the verdict accepts
};

struct Endpoint {
  std::string host, port;
};

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

Result<std::unique_ptr<crypto::TlsConnection>> connect_tls(const Endpoint& e, double timeout, std::optional<crypto::TlsContext>& ctx) {
  CCI_ASSIGN(fd, serve::tcp_connect(e.host, e.port));
  timeval tv{static_cast<time_t>(timeout), static_cast<suseconds_t>((timeout - static_cast<double>(static_cast<time_t>(timeout))) * 1e6)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  CCI_SET(ctx, crypto::TlsContext::client());
  return crypto::TlsConnection::connect(*ctx, fd, e.host);
}

struct FreshAnswer {
  ratls::TaggedEvidence evidence;
  ratls::Claims claims;
  std::optional<Bytes> gpu;  // the GPUs' evidence (SDK JSON) the claims name, checked against cci-gpu
  Bytes gpu_nonce;           // what each GPU's report must answer (ratls::gpu_nonce)
};

// The signed manifest the server was started with (its SHA-256 is the cci-manifest claim, which
// check_claims compares before anything in it is believed).
Result<Bytes> fetch_manifest(crypto::TlsConnection& tls, const Endpoint& e) {
  serve::ClientRequest req;
  req.method = "GET";
  req.target = "/v1/attestation/manifest";
  req.host = e.host;
  CCI_ASSIGN(res, serve::round_trip(tls, req, manifest::kMaxReleaseManifestBytes));
  if (res.status != 200) {
    return make_error(ErrorCode::kVerificationFailed,
                      "the server does not serve its manifest (GET /v1/attestation/manifest: HTTP " + std::to_string(res.status) +
                          "); give a copy with --deployment",
                      "manifest");
  }
  return Bytes(res.body.begin(), res.body.end());
}

// Step 3: a nonce out, evidence bound to it and to this connection back.
Result<FreshAnswer> fetch_fresh_evidence(crypto::TlsConnection& tls, const Endpoint& e, const ratls::AttestedCertificate& cert) {
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
  const auto j = nlohmann::json::parse(res.body.begin(), res.body.end(), nullptr, false);
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

// Step 5 (--provision-key), only after the whole verdict accepted: the model's key on the same TLS
// connection, bound to it by its exporter value (ratls::kModelKeyExporterLabel).
Result<cli::Json> provision_key(crypto::TlsConnection& tls, const Endpoint& e, const crypto::SecretBytes& key) {
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
  // per GiB): wait up to 30 minutes for it, not --server-timeout.
  const timeval long_wait{1800, 0};
  ::setsockopt(tls.fd(), SOL_SOCKET, SO_RCVTIMEO, &long_wait, sizeof(long_wait));
  CCI_ASSIGN(res, serve::round_trip(tls, req, 64 * 1024));
  const auto j = cli::Json::parse(res.body.begin(), res.body.end(), nullptr, false);
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

int run_remote(RemoteOptions o, const cli::Context& ctx) {
  const std::string schema = "cci.verify.report.v1";
  ::signal(SIGPIPE, SIG_IGN);  // a server that hangs up is an error naming the step, not a silent death
  auto endpoint = parse_url(o.url);
  if (!endpoint) return ctx.fail(endpoint.error(), schema);
  std::optional<crypto::TlsContext> ssl_ctx;
  auto tls = connect_tls(*endpoint, o.timeout, ssl_ctx);
  if (!tls) return ctx.fail(tls.error(), schema);
  auto cert = (*tls)->peer_certificate();
  if (!cert) return ctx.fail(cert.error(), schema);
  auto at = cli::parse_time(o.report.at);
  if (!at) return ctx.fail(at.error(), schema);
  auto attested = ratls::read_attested_certificate(*cert, *at);
  if (!attested) return ctx.fail(make_error(attested.error().code, o.url + ": " + attested.error().message, attested.error().field), schema);
  std::optional<Bytes> served;
  if (o.report.manifest.empty()) {
    auto m = fetch_manifest(**tls, *endpoint);
    if (!m) return ctx.fail(make_error(m.error().code, o.url + ": " + m.error().message, m.error().field), schema);
    served = std::move(*m);
  }
  if (auto st = check_claims(attested->claims, o.expect, o.report, served); !st) return ctx.fail(st.error(), schema);
  ctx.info("certificate: " + (*tls)->protocol() + ", self-signed, CA:FALSE, key bound by pubkey-hash, purpose " + attested->claims.purpose);
  cli::Json manifest_json = nullptr;
  if (o.report.release) {
    const auto& rel = *o.report.release;
    const bool deployment = rel.kind == manifest::Release::Kind::kDeployment;
    const std::string name = deployment ? manifest::deployment_name(*rel.deployment) : rel.model.subject_name;
    ctx.info(std::string("manifest: ") + (deployment ? "deployment '" + name + "'" : "model bundle '" + name + "' (names no VM)") +
             ", signed by " + o.report.release->signer.describe() + ", named by the claims (sha256:" + to_hex(attested->claims.manifest_sha256) + ")");
    manifest_json = cli::Json{{"kind", deployment ? "deployment" : "model-bundle"}, {"name", name}, {"sha256", to_hex(attested->claims.manifest_sha256)}};
  }
  // The key is read before anything is sent: a missing or short file is a usage error, not a surprise after the verdict.
  std::optional<crypto::SecretBytes> key;
  if (!o.provision_key.empty()) {
    auto k = sealed::read_key_file(o.provision_key, "provision-key", [&ctx](const std::string& m) { ctx.warn(m); });
    if (!k) return ctx.fail(k.error(), schema);
    key = std::move(*k);
  }
  auto fresh = fetch_fresh_evidence(**tls, *endpoint, *attested);
  if (!fresh) return ctx.fail(make_error(fresh.error().code, o.url + ": " + fresh.error().message, fresh.error().field), schema);
  if (!key) (*tls)->close_notify();
  ctx.info("fresh evidence: bound to our nonce and to this TLS connection (exporter)");
  const std::string pin = crypto::public_key_pin(*cert);
  o.report.file = o.url;
  o.report.report_data = to_hex(ratls::report_data_for_claims(fresh->evidence.claims));
  o.report.extra = cli::Json{{"remote", {{"url", o.url}, {"pin", pin}, {"tls", "TLSv1.3"}, {"fresh", true}, {"manifest", manifest_json}}}};
  if (const auto& ks = attested->claims.key_source) {
    // An encrypted model: where the server's model key comes from is attested with the rest.
    o.report.extra["remote"]["key_source"] = *ks;
    if (*ks == "file") ctx.warn("the server's model key comes from a file (--key-source file://, development only): the model is not confidential on it");
    else ctx.info("model key source: " + *ks);
  }
  o.report.extra_lines = {"pin: " + pin + "   (curl --pinnedpubkey '" + pin + "' -k " + o.url + "/v1/...)"};
  if (fresh->gpu) {
    ctx.info("GPU evidence: named by the fresh claims (cci-gpu), its request nonces derived from ours and this connection's exporter");
    o.report.extra["remote"]["gpu_evidence_sha256"] = to_hex(*fresh->claims.gpu_sha256);
  }
  auto doc = evidence_document(fresh->evidence.tag, fresh->evidence.evidence, attested->endorsements);
  if (!doc) return ctx.fail(doc.error(), schema);
  auto cpu = appraise_bytes(cpu_only(o.report), std::move(*doc), ctx);
  if (!cpu) return ctx.fail(cpu.error(), schema);
  // One verdict over the CPU TEE and its GPUs (or over their absence, when the policy expects some).
  auto verdict = with_fresh_gpus(o.report, std::move(*cpu), std::move(fresh->gpu), fresh->gpu_nonce, ctx);
  if (!verdict) return ctx.fail(verdict.error(), schema);
  if (!key) return print_verdict(o.report, *verdict, ctx);
  if (verdict->outcome != appraise::Outcome::kAccepted) {
    ctx.warn("the model key was NOT sent: the server did not verify");
    o.report.extra["remote"]["key_provisioned"] = false;
    return print_verdict(o.report, *verdict, ctx);
  }
  ctx.info("verified: sending the model key; the server decrypts and checks the model before it answers (about a second per GiB)");
  auto sent = provision_key(**tls, *endpoint, *key);
  key.reset();
  if (!sent) return ctx.fail(make_error(sent.error().code, o.url + ": " + sent.error().message, sent.error().field), schema);
  (*tls)->close_notify();
  ctx.info("model key: provisioned over this verified connection; the server decrypted and checked " + std::to_string(sent->value("files", 0)) +
           " files in " + std::to_string(sent->value("seconds", 0.0)).substr(0, 5) + " s");
  o.report.extra["remote"]["key_provisioned"] = true;
  return print_verdict(o.report, *verdict, ctx);
}

}  // namespace

void add_remote(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<RemoteOptions>();
  auto* sub = app.add_subcommand("remote", "Verify a live cci-run serve endpoint (attested TLS + fresh evidence) and print its key pin");
  sub->footer(
      "All it needs is the URL and the release public key. It connects with TLS 1.3, reads the attested\n"
      "certificate (cci RA-TLS v1) and checks it as cci-verify cert does; fetches the signed manifest the server\n"
      "was started with (GET /v1/attestation/manifest, or --deployment FILE), requires its SHA-256 to be the\n"
      "certificate's cci-manifest claim and its signature to verify with --release-key; sends a random nonce to\n"
      "POST /v1/attestation/fresh and requires evidence whose claims carry that nonce and this connection's TLS\n"
      "exporter value; then checks that report: vendor chain, REPORT_DATA = SHA-256(claims) || 0^32, and the\n"
      "deployment manifest's policy (TCB minimums, debug, ...) with a MEASUREMENT it lists. A server with confidential\n"
      "GPUs (cci-run serve --gpu) sends their evidence with the fresh answer: its SHA-256 must be the claims' cci-gpu,\n"
      "each GPU's request nonce SHA-256(\"cci-gpu-nonce\" || nonce || exporter), and it is appraised as cci-verify\n"
      "report appraises GPU evidence (--driver-rim, --vbios-rim), in the same verdict. A server started from\n"
      "a plain model bundle names no VM: then --measurement is required (or --insecure-any-measurement).\n"
      "Only the nonce is sent. On success the last line is the certificate's pin, for clients that pin keys:\n"
      "  curl --pinnedpubkey 'sha256//...' -k https://HOST:PORT/v1/models -H 'Authorization: Bearer KEY'\n"
      "Examples:\n"
      "  cci-verify remote https://10.0.0.5:8443 --release-key release.pub\n"
      "  cci-verify remote https://127.0.0.1:8443 --release-key release.pub \\\n"
      "      --trust-sim-root ./sim --offline --insecure-no-crl --json | jq -r .remote.pin");
  sub->add_option("URL", o->url, "https://HOST:PORT of the server")->required();
  sub->add_option("--server-timeout", o->timeout, "Seconds to wait for the server at each step")->capture_default_str();
  sub->add_option("--provision-key", o->provision_key,
                  "An encrypted model's key (32 bytes, cci-measure encrypt --dek-out; - for standard input): sent to a server that "
                  "waits sealed, on this connection, only once every check passed");
  add_attested_flags(sub, o->report, o->expect);
  sub->add_option("--driver-rim", o->report.driver_rims, "NVIDIA GPUs behind the server: a driver RIM (repeatable; docs/nvidia-gpu.md)");
  sub->add_option("--vbios-rim", o->report.vbios_rims, "NVIDIA GPUs behind the server: a VBIOS RIM (repeatable)");
  sub->add_option("--ocsp", o->report.ocsp,
                  "NVIDIA GPUs behind the server: an OCSP response (DER) for a device-chain or RIM-signer certificate (repeatable; "
                  "docs/nvidia-gpu.md)");
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_remote(*o, ctx); }; });
}

}  // namespace cci::tools::verify
