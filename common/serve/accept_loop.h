// cci-run serve's accept loop (docs/architecture.md, "cci-run serve: processes"): it holds the
// TLS key, the TEE (through an Attestor, on a thread of its own) and the verified release, and
// never sees plaintext. Each TCP connection goes, unread, to an exec'd connection process once
// its first byte arrives; each user gets an exec'd worker; both get bytes and descriptors, never
// paths. The pieces that decide (admission of connections, the fresh-evidence rate) are
// functions of their own, tested in-process.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "crypto/keys.h"
#include "crypto/random.h"
#include "crypto/x509.h"
#include "ratls/attested_cert.h"
#include "ratls/claims.h"
#include "serve/worker.h"

namespace cci::serve {

struct ServeConfig {
  std::string listen = "127.0.0.1:8443", ready_file, deploy, model_id = "model", api_keys;
  std::vector<std::string> dns;
  int max_connections = 64, max_users = 16, max_user_connections = 4, threads = 0, max_fresh = 16;
  int max_pending = 1024, max_peer_connections = 32;
  std::int64_t max_tokens = 512, context = 0;
  size_t max_body_bytes = 1u << 20, max_prompt_bytes = 64u * 1024;
  double request_timeout = 10, keepalive_timeout = 30, idle_timeout = 300, cert_hours = 24;
  double handshake_timeout = 5, write_timeout = 30, fresh_rate = 10;
  double stream_interval = WorkerLimits{}.output_interval;  // least time between two streamed pieces of one completion
  std::string conn_exe;                  // the connection process (cci-run-conn)
  std::vector<std::string> worker_command;  // the worker: executable, then its first arguments
  std::string version;                      // for cci_build_info in GET /metrics
};

class Attestor;

// An encrypted model (docs/encrypted-model.md): the server starts sealed, with its attested
// certificate and fresh evidence but no model, and answers completions with 503 until the key
// arrives, from the model owner over attested TLS (push) or fetched from a key source.
struct SealedRelease {
  std::string key_source = "push";  // "push" | "file" | "kbs" | "cdh": for logs, the ready file and /metrics
  std::string key_id;               // the URI the encrypted headers name
  // Decrypts with `key` into memory and checks every byte against the signed release: the model's
  // files as sealed memfds, or the refusal (a wrong key: kVerificationFailed, saying nothing about
  // the right one). Runs on the attester thread.
  std::function<Result<std::vector<std::pair<std::string, UniqueFd>>>(ByteView key)> unseal;
  // The key from the source, with the TEE at hand for evidence (kbs, cdh, file); empty for push.
  // Runs on the attester thread; an error is logged and the fetch retried (retry_seconds later),
  // except a refusal by policy, which is logged and retried at the slower pace.
  std::function<Result<crypto::SecretBytes>(Attestor&)> fetch;
};

// The verified release the server attests: the manifest and key bytes (hashed into the claims,
// served, handed to workers) and the model's files as the descriptors that were checked (empty
// while `sealed` waits for its key).
struct ServeRelease {
  Bytes manifest;
  Bytes key_pem;  // the release key; empty for a keyless signer (a model bundle through Sigstore):
  Bytes trusted_root;
  std::string identity, identity_regexp, issuer;
  bool deployment = false;  // a deployment manifest (else a plain model bundle: clients cannot check the VM)
  std::string where;        // the model's directory, for messages
  bool single_file = false;
  std::vector<std::pair<std::string, UniqueFd>> files;
  std::optional<SealedRelease> sealed;
};

struct IssuedCertificate {
  crypto::Certificate cert;
  std::string tee;  // "snp", "csv", "sim-snp", ...
  bool simulated = false;
  std::vector<std::string> warnings;
};

// The TEE as the accept loop needs it; called from one thread at a time.
class Attestor {
 public:
  virtual ~Attestor() = default;
  virtual Result<IssuedCertificate> issue(const crypto::PrivateKey& key, const ratls::Claims& claims, const ratls::AttestedCertSpec& spec) = 0;
  virtual Result<Bytes> tagged_evidence(ByteView claims_cbor) = 0;
  // For a key source that binds its own data (a KBS's runtime-data digest): the TEE's evidence
  // over exactly these 64 bytes of REPORT_DATA, as a cci.evidence.v1 file (evidence/evidence_file.h),
  // and the TEE its evidence names ("snp", "csv", "sim-snp", "sim-csv").
  virtual Result<Bytes> evidence_file(ByteView report_data) = 0;
  virtual std::string tee() const = 0;
  // Confidential GPUs behind the TEE (cci-run serve --gpu): their evidence for a fresh answer,
  // every GPU answering `nonce` (32 bytes; ratls::gpu_nonce), as the NVIDIA attestation SDK's JSON.
  virtual bool has_gpus() const { return false; }
  virtual Result<Bytes> gpu_evidence(ByteView nonce) {
    (void)nonce;
    return make_error(ErrorCode::kUnsupported, "this server has no confidential GPU", "gpu");
  }
};

struct ServeOutput {
  std::function<void(const std::string&)> info = [](const std::string&) {};
  std::function<void(const std::string&)> warn = [](const std::string&) {};
};

// Runs until SIGTERM or SIGINT (SIGHUP re-reads the API key file). Errors at start are returned.
// Checks --listen (numeric host, port 0-65535) without opening anything: a typo is a usage
// error before the model is verified and a certificate issued.
Status check_listen_address(const std::string& listen);

// True when --listen is a loopback address (127.0.0.0/8, ::1): only this machine can connect, so
// GET /metrics needs no API key there (anywhere else it needs one).
bool is_loopback_listen(const std::string& listen);

Status run_accept_loop(const ServeConfig& config, ServeRelease release, std::unique_ptr<Attestor> attestor, const ServeOutput& out);

// ---- the decisions, as functions ----

// A token bucket: `rate` per second, bursts of up to max(1, rate).
class RateLimit {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RateLimit(double rate, Clock::time_point now = Clock::now()) : rate_(rate), tokens_(std::max(1.0, rate)), last_(now) {}
  bool take(Clock::time_point now = Clock::now());

 private:
  double rate_, tokens_;
  Clock::time_point last_;
};

// Admission of a new connection from `peer`: over the peer's share or the total, the oldest
// connection that has not authenticated yet is evicted (those bound to a user never are). Returns
// the ids to evict, or nullopt when there is no room at all.
struct LiveConnection {
  int id = 0;
  std::string peer;
  bool authenticated = false;
  std::chrono::steady_clock::time_point started;
};
std::optional<std::vector<int>> admit(const std::vector<LiveConnection>& live, const std::string& peer, int max_connections, int max_peer_connections);

}  // namespace cci::serve
