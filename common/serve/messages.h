// Every message between cci-run serve's processes, typed, in one place. On the wire each is one
// JSON frame (serve/ipc.h), possibly with a descriptor; here it is a struct, and decoding is
// strict: a missing field or one of the wrong type is an error naming it, never an exception.
//
//   connection  -> accept loop : EvidenceRequest | SessionRequest | MetricsRequest | ModelKeyOffer, each answered;
//                                RequestDone, not answered
//   accept loop -> connection  : ConnInit (first frame), then Refusal | EvidenceAnswer | SessionGranted (+ session socket)
//                                | MetricsAnswer | KeyAccepted
//   accept loop -> worker      : WorkerInit (first frame), then SessionOffer (+ session socket) | Exit
//   worker      -> accept loop : WorkerStatus
//   worker      -> connection  : SessionEvent* on the session socket (the request itself is a raw
//                                 frame: 'T' or 'C' then the OpenAI request body)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/result.h"
#include "base/secure_alloc.h"
#include "serve/secure_json.h"

namespace cci::serve::msg {

// ---- connection -> accept loop ----
struct EvidenceRequest {
  SecureString claims_b64;  // CBOR claims: the certificate's plus nonce and exporter
};
struct SessionRequest {
  SecureString key_sha256_hex;  // SHA-256 of the API key the client sent
  bool want_worker = true;      // false: authentication only (GET /v1/models)
};
// One answered request's counts and timings for /metrics (serve/metrics.h): never its content.
struct RequestDone {
  std::string route;  // a known route or "other"
  int status = 0;
  double seconds = 0, first_token_seconds = -1;
  std::int64_t prompt_tokens = 0, completion_tokens = 0;
};
struct MetricsRequest {};
// POST /v1/attestation/model-key: the model's key from its owner, on a TLS connection whose
// exporter the owner proved it shares (checked by the connection process).
struct ModelKeyOffer {
  SecureString key_b64;
};
using ConnRequest = std::variant<EvidenceRequest, SessionRequest, RequestDone, MetricsRequest, ModelKeyOffer>;

// ---- accept loop -> connection ----
struct ConnInit {
  SecureString key_pem;  // the TLS key, in memory only
  std::string cert_pem;
  std::string model;
  std::int64_t created = 0;
  size_t max_body_bytes = 1u << 20, max_prompt_bytes = 64u * 1024;
  std::int64_t max_tokens = 512;
  double handshake_timeout = 5, request_timeout = 10, keepalive_timeout = 30, write_timeout = 30;
  bool metrics_open = false;  // GET /metrics without an API key (the server listens on loopback only)
};
struct Refusal {
  int status = 500;  // the HTTP status the connection answers with
  std::string message;
};
struct EvidenceAnswer {
  std::string evidence_b64;  // CBOR tagged evidence
  std::string gpu_b64;       // the GPUs' evidence its claims name (cci-gpu), or empty: no GPUs
};
struct SessionGranted {
  std::string user;  // the connection is bound to this user from now on
};
struct MetricsAnswer {
  std::string text;  // the Prometheus text exposition
};
struct KeyAccepted {
  std::int64_t files = 0;
  double seconds = 0;  // decryption and verification
};
using ConnAnswer = std::variant<Refusal, EvidenceAnswer, SessionGranted, MetricsAnswer, KeyAccepted>;

// ---- accept loop -> worker ----
struct WorkerInit {
  std::string release_key_pem;  // the release key, or empty for a keyless signer:
  std::string release_trusted_root, release_identity, release_identity_regexp, release_issuer;
  std::string where;  // the model's directory, for messages
  bool single_file = false;
  std::vector<std::string> files;  // names of the descriptors that follow the manifest's
};
struct SessionOffer {
  int conn = 0;  // the connection's id, for logs
};
struct Exit {};
using WorkerCommand = std::variant<SessionOffer, Exit>;

// ---- worker -> accept loop ----
struct WorkerStatus {
  enum class Kind { kReady, kIdle, kBusy, kStartFailed } kind = Kind::kReady;
  std::string error;  // kStartFailed: why
};

// ---- worker -> connection, on the session socket ----
struct SessionEvent {
  enum class Kind { kDelta, kDone, kError } kind = Kind::kDelta;
  SecureString text;             // kDelta
  std::string finish_reason;     // kDone: "stop" | "length"
  std::int64_t prompt_tokens = 0, completion_tokens = 0;  // kDone
  int status = 500;              // kError: the HTTP status
  std::string message, param;    // kError
};

SecureJson encode(const ConnRequest& m);
Result<ConnRequest> decode_conn_request(const SecureJson& j);
SecureJson encode(const ConnInit& m);
Result<ConnInit> decode_conn_init(const SecureJson& j);
SecureJson encode(const ConnAnswer& m);
Result<ConnAnswer> decode_conn_answer(const SecureJson& j);
SecureJson encode(const WorkerInit& m);
Result<WorkerInit> decode_worker_init(const SecureJson& j);
SecureJson encode(const WorkerCommand& m);
Result<WorkerCommand> decode_worker_command(const SecureJson& j);
SecureJson encode(const WorkerStatus& m);
Result<WorkerStatus> decode_worker_status(const SecureJson& j);
SecureJson encode(const SessionEvent& m);
Result<SessionEvent> decode_session_event(const SecureJson& j);

}  // namespace cci::serve::msg
