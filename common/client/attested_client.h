// The client side of cci's attested TLS (docs/architecture.md "Attested TLS"), shared by
// cci-verify remote and cci-bench load: the steps that check one connection to one server before
// anything is sent to it, and what a client keeps between connections.
//   connect        TLS 1.3 to an endpoint; the server's certificate and its key's pin
//   fetch_manifest GET /v1/attestation/manifest: the signed manifest the server was started with
//   fetch_fresh    POST /v1/attestation/fresh with a random nonce: evidence whose claims repeat the
//                  certificate's and carry the nonce and this connection's TLS exporter value
//   provision_key  the model's key on the same connection, bound to its exporter value
//   VerifiedKeys   the servers verified so far, by their key's pin: behind a load balancer each
//                  connection may reach another replica with another key; a connection to a key
//                  verified before needs nothing more, a new key needs the whole verification
// The appraisal of the evidence (vendor chain, policy, measurements) is common/appraise's; the
// caller builds its request (its options differ per tool).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/random.h"
#include "crypto/tls.h"
#include "crypto/x509.h"
#include "manifest/release.h"
#include "ratls/attested_cert.h"
#include "ratls/claims.h"

namespace cci::client {

// Where to connect: `host` names the server (TLS server name, HTTP Host); `address`, when set,
// is the one address to connect to (a replica of a headless service), else `host` is resolved.
struct Endpoint {
  std::string host, port, address;
  std::string label() const;  // "HOST:PORT", or "ADDRESS:PORT (HOST)"
};

// https://HOST[:PORT][/] (IPv6 in brackets); anything else is a usage error naming the URL.
Result<Endpoint> parse_url(const std::string& url);

// Every address `e.host` resolves to (a headless Kubernetes Service: one per ready replica), in
// the resolver's order without repeats, each as an Endpoint of its own.
Result<std::vector<Endpoint>> resolve_replicas(const Endpoint& e);

struct Connection {
  std::unique_ptr<crypto::TlsContext> ctx;
  std::unique_ptr<crypto::TlsConnection> tls;
  std::optional<crypto::Certificate> cert;  // the server's, from the handshake (always set)
  std::string pin;           // "sha256//BASE64" of its public key (curl --pinnedpubkey)
};

// TCP + TLS 1.3, with `timeout_s` on every read and write.
Result<Connection> connect(const Endpoint& e, double timeout_s);

// The signed manifest the server serves (its SHA-256 must be the claims' cci-manifest: the caller checks).
Result<Bytes> fetch_manifest(crypto::TlsConnection& tls, const Endpoint& e);

struct FreshAnswer {
  ratls::TaggedEvidence evidence;
  ratls::Claims claims;
  std::optional<Bytes> gpu;  // the GPUs' evidence (SDK JSON) the claims name, checked against cci-gpu
  Bytes gpu_nonce;           // what each GPU's report must answer (ratls::gpu_nonce)
};

// A fresh nonce out, evidence bound to it and to this connection back (read_fresh_answer).
Result<FreshAnswer> fetch_fresh(crypto::TlsConnection& tls, const Endpoint& e, const ratls::AttestedCertificate& cert);

// The checks of a fresh-evidence answer's body, apart from the transport: {"evidence": base64 of
// tagged evidence of the certificate's TEE, "gpu_evidence"?: base64}, claims that repeat the
// certificate's and carry `nonce` and `exporter` (ratls::check_fresh_claims), and GPU evidence
// exactly when the claims name it (cci-gpu), those very bytes: a server that names GPU evidence
// and withholds it is refused, never appraised as CPU-only.
Result<FreshAnswer> read_fresh_answer(ByteView body, const ratls::AttestedCertificate& cert, ByteView nonce, ByteView exporter);

// The model's key, on this connection, bound to its exporter value; the server's answer
// ({"status":"provisioned", ...}). Refusals are kVerificationFailed, server errors kIo.
Result<nlohmann::json> provision_key(crypto::TlsConnection& tls, const Endpoint& e, const crypto::SecretBytes& key);

// The release the claims name: `manifest`'s SHA-256 must be the cci-manifest claim, then its
// signature must verify for `signer` (manifest::verify_release). `label` names the bytes in errors.
Result<manifest::Release> claimed_release(const ratls::Claims& c, Bytes manifest, manifest::ReleaseSigner signer, std::time_t at,
                                          const std::string& label);

// The evidence as a cci.evidence.v1 document, for the report pipeline.
Result<Bytes> evidence_document(std::uint64_t tag, ByteView evidence, const std::optional<ratls::Endorsements>& endorsements);

// Keys of servers verified in this process (thread-safe).
class VerifiedKeys {
 public:
  bool contains(const std::string& pin) const;
  void add(const std::string& pin);
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::set<std::string> pins_;
};

}  // namespace cci::client
