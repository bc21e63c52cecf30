#include "serve/messages.h"

namespace cci::serve::msg {
namespace {

Error bad(const std::string& field, const std::string& what) { return make_error(ErrorCode::kMalformed, "IPC message: " + field + " " + what, field); }

// Typed readers: a field of the wrong type is an error naming it.
Result<SecureString> str(const SecureJson& j, const char* field) {
  if (!j.contains(field) || !j[field].is_string()) return bad(field, "is missing or not a string");
  return j[field].get<SecureString>();
}
Result<std::string> plain(const SecureJson& j, const char* field) {
  CCI_ASSIGN(s, str(j, field));
  return std::string(s.begin(), s.end());
}
Result<std::int64_t> integer(const SecureJson& j, const char* field) {
  if (!j.contains(field) || !j[field].is_number_integer()) return bad(field, "is missing or not an integer");
  return j[field].get<std::int64_t>();
}
Result<double> number(const SecureJson& j, const char* field) {
  if (!j.contains(field) || !j[field].is_number()) return bad(field, "is missing or not a number");
  return j[field].get<double>();
}
Result<bool> boolean(const SecureJson& j, const char* field) {
  if (!j.contains(field) || !j[field].is_boolean()) return bad(field, "is missing or not true/false");
  return j[field].get<bool>();
}
Result<std::string> op_of(const SecureJson& j, const char* field = "op") {
  if (!j.is_object()) return bad(field, "the message is not an object");
  return plain(j, field);
}

}  // namespace

SecureJson encode(const ConnRequest& m) {
  if (const auto* e = std::get_if<EvidenceRequest>(&m)) return SecureJson{{"op", "evidence"}, {"claims", e->claims_b64}};
  if (const auto* d = std::get_if<RequestDone>(&m)) {
    return SecureJson{{"op", "done"},          {"route", d->route},
                      {"status", d->status},   {"seconds", d->seconds},
                      {"first_token_seconds", d->first_token_seconds}, {"prompt_tokens", d->prompt_tokens},
                      {"completion_tokens", d->completion_tokens}};
  }
  if (std::holds_alternative<MetricsRequest>(m)) return SecureJson{{"op", "metrics"}};
  if (const auto* k = std::get_if<ModelKeyOffer>(&m)) return SecureJson{{"op", "model_key"}, {"key", k->key_b64}};
  const auto& s = std::get<SessionRequest>(m);
  return SecureJson{{"op", "session"}, {"key_sha256", s.key_sha256_hex}, {"worker", s.want_worker}};
}

Result<ConnRequest> decode_conn_request(const SecureJson& j) {
  CCI_ASSIGN(op, op_of(j));
  if (op == "evidence") {
    EvidenceRequest e;
    CCI_SET(e.claims_b64, str(j, "claims"));
    return ConnRequest(std::move(e));
  }
  if (op == "session") {
    SessionRequest s;
    CCI_SET(s.key_sha256_hex, str(j, "key_sha256"));
    CCI_SET(s.want_worker, boolean(j, "worker"));
    return ConnRequest(std::move(s));
  }
  if (op == "done") {
    RequestDone d;
    CCI_SET(d.route, plain(j, "route"));
    CCI_ASSIGN(status, integer(j, "status"));
    if (status < 100 || status > 599) return bad("status", "is no HTTP status");
    d.status = static_cast<int>(status);
    CCI_SET(d.seconds, number(j, "seconds"));
    CCI_SET(d.first_token_seconds, number(j, "first_token_seconds"));
    CCI_SET(d.prompt_tokens, integer(j, "prompt_tokens"));
    CCI_SET(d.completion_tokens, integer(j, "completion_tokens"));
    return ConnRequest(std::move(d));
  }
  if (op == "metrics") return ConnRequest(MetricsRequest{});
  if (op == "model_key") {
    ModelKeyOffer k;
    CCI_SET(k.key_b64, str(j, "key"));
    return ConnRequest(std::move(k));
  }
  return bad("op", "'" + op + "' is no connection request");
}

SecureJson encode(const ConnInit& m) {
  return SecureJson{{"key_pem", m.key_pem},
                    {"cert_pem", m.cert_pem},
                    {"model", m.model},
                    {"created", m.created},
                    {"max_body_bytes", static_cast<std::int64_t>(m.max_body_bytes)},
                    {"max_prompt_bytes", static_cast<std::int64_t>(m.max_prompt_bytes)},
                    {"max_tokens", m.max_tokens},
                    {"handshake_timeout", m.handshake_timeout},
                    {"request_timeout", m.request_timeout},
                    {"keepalive_timeout", m.keepalive_timeout},
                    {"write_timeout", m.write_timeout},
                    {"metrics_open", m.metrics_open}};
}

Result<ConnInit> decode_conn_init(const SecureJson& j) {
  if (!j.is_object()) return bad("init", "is not an object");
  ConnInit m;
  CCI_SET(m.key_pem, str(j, "key_pem"));
  CCI_SET(m.cert_pem, plain(j, "cert_pem"));
  CCI_SET(m.model, plain(j, "model"));
  CCI_SET(m.created, integer(j, "created"));
  CCI_ASSIGN(body, integer(j, "max_body_bytes"));
  CCI_ASSIGN(prompt, integer(j, "max_prompt_bytes"));
  if (body < 1 || prompt < 1) return bad("max_body_bytes", "must be positive");
  m.max_body_bytes = static_cast<size_t>(body);
  m.max_prompt_bytes = static_cast<size_t>(prompt);
  CCI_SET(m.max_tokens, integer(j, "max_tokens"));
  CCI_SET(m.handshake_timeout, number(j, "handshake_timeout"));
  CCI_SET(m.request_timeout, number(j, "request_timeout"));
  CCI_SET(m.keepalive_timeout, number(j, "keepalive_timeout"));
  CCI_SET(m.write_timeout, number(j, "write_timeout"));
  CCI_SET(m.metrics_open, boolean(j, "metrics_open"));
  return m;
}

SecureJson encode(const ConnAnswer& m) {
  if (const auto* r = std::get_if<Refusal>(&m)) return SecureJson{{"error", r->message}, {"status", r->status}};
  if (const auto* e = std::get_if<EvidenceAnswer>(&m)) {
    SecureJson j{{"evidence", e->evidence_b64}};
    if (!e->gpu_b64.empty()) j["gpu_evidence"] = e->gpu_b64;
    return j;
  }
  if (const auto* x = std::get_if<MetricsAnswer>(&m)) return SecureJson{{"metrics", x->text}};
  if (const auto* k = std::get_if<KeyAccepted>(&m)) return SecureJson{{"key_accepted", true}, {"files", k->files}, {"seconds", k->seconds}};
  return SecureJson{{"user", std::get<SessionGranted>(m).user}};
}

Result<ConnAnswer> decode_conn_answer(const SecureJson& j) {
  if (!j.is_object()) return bad("answer", "is not an object");
  if (j.contains("error")) {
    Refusal r;
    CCI_SET(r.message, plain(j, "error"));
    CCI_ASSIGN(status, integer(j, "status"));
    if (status < 400 || status > 599) return bad("status", "is no HTTP error status");
    r.status = static_cast<int>(status);
    return ConnAnswer(std::move(r));
  }
  if (j.contains("evidence")) {
    EvidenceAnswer e;
    CCI_SET(e.evidence_b64, plain(j, "evidence"));
    if (j.contains("gpu_evidence")) CCI_SET(e.gpu_b64, plain(j, "gpu_evidence"));
    return ConnAnswer(std::move(e));
  }
  if (j.contains("metrics")) {
    MetricsAnswer x;
    CCI_SET(x.text, plain(j, "metrics"));
    return ConnAnswer(std::move(x));
  }
  if (j.contains("key_accepted")) {
    KeyAccepted k;
    CCI_SET(k.files, integer(j, "files"));
    CCI_SET(k.seconds, number(j, "seconds"));
    return ConnAnswer(std::move(k));
  }
  SessionGranted s;
  CCI_SET(s.user, plain(j, "user"));
  return ConnAnswer(std::move(s));
}

SecureJson encode(const WorkerInit& m) {
  SecureJson files = SecureJson::array();
  for (const auto& f : m.files) files.push_back(SecureString(f.begin(), f.end()));
  return SecureJson{{"release_key", m.release_key_pem}, {"release_trusted_root", m.release_trusted_root}, {"release_identity", m.release_identity},
                    {"release_identity_regexp", m.release_identity_regexp}, {"release_issuer", m.release_issuer},
                    {"where", m.where}, {"single_file", m.single_file}, {"files", std::move(files)}};
}

Result<WorkerInit> decode_worker_init(const SecureJson& j) {
  if (!j.is_object()) return bad("init", "is not an object");
  WorkerInit m;
  CCI_SET(m.release_key_pem, plain(j, "release_key"));
  CCI_SET(m.release_trusted_root, plain(j, "release_trusted_root"));
  CCI_SET(m.release_identity, plain(j, "release_identity"));
  CCI_SET(m.release_identity_regexp, plain(j, "release_identity_regexp"));
  CCI_SET(m.release_issuer, plain(j, "release_issuer"));
  CCI_SET(m.where, plain(j, "where"));
  CCI_SET(m.single_file, boolean(j, "single_file"));
  if (!j.contains("files") || !j["files"].is_array()) return bad("files", "is missing or not a list");
  for (const auto& f : j["files"]) {
    if (!f.is_string()) return bad("files", "holds something other than names");
    const auto& s = f.get_ref<const SecureString&>();
    m.files.emplace_back(s.begin(), s.end());
  }
  return m;
}

SecureJson encode(const WorkerCommand& m) {
  if (const auto* s = std::get_if<SessionOffer>(&m)) return SecureJson{{"op", "session"}, {"conn", s->conn}};
  return SecureJson{{"op", "exit"}};
}

Result<WorkerCommand> decode_worker_command(const SecureJson& j) {
  CCI_ASSIGN(op, op_of(j));
  if (op == "exit") return WorkerCommand(Exit{});
  if (op == "session") {
    SessionOffer s;
    CCI_ASSIGN(conn, integer(j, "conn"));
    s.conn = static_cast<int>(conn);
    return WorkerCommand(s);
  }
  return bad("op", "'" + op + "' is no worker command");
}

namespace {
constexpr std::pair<WorkerStatus::Kind, const char*> kStatusNames[] = {
    {WorkerStatus::Kind::kReady, "ready"}, {WorkerStatus::Kind::kIdle, "idle"}, {WorkerStatus::Kind::kBusy, "busy"}, {WorkerStatus::Kind::kStartFailed, "start_failed"}};
constexpr std::pair<SessionEvent::Kind, const char*> kEventNames[] = {
    {SessionEvent::Kind::kDelta, "delta"}, {SessionEvent::Kind::kDone, "done"}, {SessionEvent::Kind::kError, "error"}};
}  // namespace

SecureJson encode(const WorkerStatus& m) {
  const char* name = "ready";
  for (const auto& [k, n] : kStatusNames) {
    if (k == m.kind) name = n;
  }
  SecureJson j{{"op", name}};
  if (m.kind == WorkerStatus::Kind::kStartFailed) j["error"] = m.error;
  return j;
}

Result<WorkerStatus> decode_worker_status(const SecureJson& j) {
  CCI_ASSIGN(op, op_of(j));
  WorkerStatus m;
  bool known = false;
  for (const auto& [k, n] : kStatusNames) {
    if (op == n) {
      m.kind = k;
      known = true;
    }
  }
  if (!known) return bad("op", "'" + op + "' is no worker status");
  if (m.kind == WorkerStatus::Kind::kStartFailed) CCI_SET(m.error, plain(j, "error"));
  return m;
}

SecureJson encode(const SessionEvent& m) {
  switch (m.kind) {
    case SessionEvent::Kind::kDelta: return SecureJson{{"t", "delta"}, {"text", m.text}};
    case SessionEvent::Kind::kDone:
      return SecureJson{{"t", "done"}, {"finish_reason", m.finish_reason}, {"prompt_tokens", m.prompt_tokens}, {"completion_tokens", m.completion_tokens}};
    case SessionEvent::Kind::kError: break;
  }
  return SecureJson{{"t", "error"}, {"status", m.status}, {"message", m.message}, {"param", m.param}};
}

Result<SessionEvent> decode_session_event(const SecureJson& j) {
  CCI_ASSIGN(t, op_of(j, "t"));
  SessionEvent m;
  bool known = false;
  for (const auto& [k, n] : kEventNames) {
    if (t == n) {
      m.kind = k;
      known = true;
    }
  }
  if (!known) return bad("t", "'" + t + "' is no session event");
  switch (m.kind) {
    case SessionEvent::Kind::kDelta: CCI_SET(m.text, str(j, "text")); break;
    case SessionEvent::Kind::kDone:
      CCI_SET(m.finish_reason, plain(j, "finish_reason"));
      CCI_SET(m.prompt_tokens, integer(j, "prompt_tokens"));
      CCI_SET(m.completion_tokens, integer(j, "completion_tokens"));
      break;
    case SessionEvent::Kind::kError: {
      CCI_ASSIGN(status, integer(j, "status"));
      if (status < 400 || status > 599) return bad("status", "is no HTTP error status");
      m.status = static_cast<int>(status);
      CCI_SET(m.message, plain(j, "message"));
      CCI_SET(m.param, plain(j, "param"));
      break;
    }
  }
  return m;
}

}  // namespace cci::serve::msg
