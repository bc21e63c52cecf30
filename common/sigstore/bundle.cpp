#include "sigstore/bundle.h"

#include <regex>

#include <nlohmann/json.hpp>

#include "base/hex.h"
#include "base/text.h"
#include "crypto/digest.h"
#include "crypto/keys.h"
#include "crypto/timestamp.h"
#include "sigstore/sct.h"
#include "sigstore/tlog.h"

namespace cci::sigstore {
namespace {

using Json = nlohmann::json;

constexpr std::time_t kClockSkew = 300;  // a verified time may lead the verifier's clock by this much

Error bad(const std::string& where, const std::string& why) { return Error::make(ErrorCode::kMalformed, "Sigstore bundle: " + where + " " + why, "bundle"); }

// The error of a failed step, labelled with the check it belongs to.
Error as_check(const Error& e, const char* check) { return Error::make(e.code == ErrorCode::kMalformed ? ErrorCode::kVerificationFailed : e.code, e.message, check); }
Error failed(const char* check, const std::string& why) { return Error::make(ErrorCode::kVerificationFailed, why, check); }

const Json* get(const Json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

Result<const Json*> object(const Json& j, const char* key, const std::string& where) {
  const Json* v = get(j, key);
  if (!v || !v->is_object()) return bad(where + "." + key, "is missing or not an object");
  return v;
}

Result<std::string> text(const Json& j, const char* key, const std::string& where) {
  const Json* v = get(j, key);
  if (!v || !v->is_string()) return bad(where + "." + key, "is missing or not a string");
  return v->get<std::string>();
}

Result<Bytes> b64(const Json& j, const char* key, const std::string& where) {
  CCI_ASSIGN(s, text(j, key, where));
  auto b = base64_decode(s, where + "." + key);
  if (!b) return bad(where + "." + key, "is not base64");
  return std::move(*b);
}

// A protobuf JSON int64: a decimal string (or a number), non-negative here.
Result<std::int64_t> integer(const Json& j, const char* key, const std::string& where) {
  const Json* v = get(j, key);
  if (!v) return bad(where + "." + key, "is missing");
  if (v->is_number_unsigned()) {
    const auto u = v->get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(INT64_MAX)) return bad(where + "." + key, "is out of range");
    return static_cast<std::int64_t>(u);
  }
  if (v->is_number_integer()) return bad(where + "." + key, "is negative");
  if (!v->is_string()) return bad(where + "." + key, "is not an integer");
  const std::string s = v->get<std::string>();
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos || (s.size() > 1 && s[0] == '0')) {
    return bad(where + "." + key, "'" + s + "' is not a non-negative decimal integer");
  }
  return static_cast<std::int64_t>(std::stoull(s));
}

Result<int> media_version(const std::string& m) {
  if (m == "application/vnd.dev.sigstore.bundle+json;version=0.1") return 1;
  if (m == "application/vnd.dev.sigstore.bundle+json;version=0.2") return 2;
  if (m == "application/vnd.dev.sigstore.bundle+json;version=0.3" || m == "application/vnd.dev.sigstore.bundle.v0.3+json") return 3;
  return Error::make(ErrorCode::kUnsupported, "Sigstore bundle: media type \"" + m + "\" is not a bundle version 0.1, 0.2 or 0.3", "bundle");
}

Result<crypto::Certificate> certificate(const Json& j, const std::string& where) {
  CCI_ASSIGN(der, b64(j, "rawBytes", where));
  auto c = crypto::Certificate::from_der(der);
  if (!c) return bad(where + ".rawBytes", "is not a certificate: " + c.error().message);
  return std::move(*c);
}

bool self_signed(const crypto::Certificate& c) { return c.names_issuer(c) && c.signed_by(c); }

Result<TlogEntry> tlog_entry(const Json& e, const std::string& where, int version) {
  TlogEntry t;
  CCI_ASSIGN(index, integer(e, "logIndex", where));
  t.log_index = index;
  CCI_ASSIGN(log_id, object(e, "logId", where));
  CCI_ASSIGN(id, b64(*log_id, "keyId", where + ".logId"));
  t.log_id = std::move(id);
  CCI_ASSIGN(kv, object(e, "kindVersion", where));
  CCI_ASSIGN(kind, text(*kv, "kind", where + ".kindVersion"));
  CCI_ASSIGN(kver, text(*kv, "version", where + ".kindVersion"));
  t.kind = kind;
  t.kind_version = kver;
  CCI_ASSIGN(time, integer(e, "integratedTime", where));
  t.integrated_time = time;
  CCI_ASSIGN(body, b64(e, "canonicalizedBody", where));
  if (body.empty()) return bad(where + ".canonicalizedBody", "is empty");
  t.body = std::move(body);
  if (get(e, "inclusionPromise")) {
    CCI_ASSIGN(promise, object(e, "inclusionPromise", where));
    CCI_ASSIGN(set, b64(*promise, "signedEntryTimestamp", where + ".inclusionPromise"));
    if (set.empty()) return bad(where + ".inclusionPromise.signedEntryTimestamp", "is empty");
    t.set = std::move(set);
  }
  if (get(e, "inclusionProof")) {
    const std::string w = where + ".inclusionProof";
    CCI_ASSIGN(p, object(e, "inclusionProof", where));
    InclusionProof proof;
    CCI_ASSIGN(pi, integer(*p, "logIndex", w));
    CCI_ASSIGN(ps, integer(*p, "treeSize", w));
    proof.log_index = static_cast<std::uint64_t>(pi);
    proof.tree_size = static_cast<std::uint64_t>(ps);
    CCI_ASSIGN(root, b64(*p, "rootHash", w));
    proof.root_hash = std::move(root);
    const Json* hashes = get(*p, "hashes");
    if (hashes && !hashes->is_array()) return bad(w + ".hashes", "is not a list");
    if (hashes && hashes->size() > kMaxProofHashes) return bad(w + ".hashes", "has more than " + std::to_string(kMaxProofHashes) + " hashes");
    if (hashes) {
      for (const auto& h : *hashes) {
        if (!h.is_string()) return bad(w + ".hashes", "holds a non-string");
        auto d = base64_decode(h.get<std::string>(), w + ".hashes");
        if (!d) return bad(w + ".hashes", "holds a hash that is not base64");
        proof.hashes.push_back(std::move(*d));
      }
    }
    // A proof is only as good as the signed root it leads to: the checkpoint is required.
    CCI_ASSIGN(cp, object(*p, "checkpoint", w));
    CCI_ASSIGN(note, text(*cp, "envelope", w + ".checkpoint"));
    proof.checkpoint = note;
    t.proof = std::move(proof);
  }
  if (version == 1 && !t.set) return bad(where + ".inclusionPromise", "is missing (a version 0.1 bundle needs the signed entry timestamp)");
  if (version >= 2 && !t.proof) return bad(where + ".inclusionProof", "is missing (a version 0.2 or later bundle needs the inclusion proof)");
  return t;
}

// ---- verification ------------------------------------------------------------------------


std::string hex_sha256(ByteView data) { return to_hex(crypto::digest(crypto::DigestAlg::kSha256, data)); }

// A base64 PEM certificate of a Rekor body that must be the bundle's signing certificate.
Status same_certificate(const Json& j, const char* key, const std::string& where, const crypto::Certificate& leaf) {
  CCI_ASSIGN(pem, b64(j, key, where));
  auto c = crypto::Certificate::from_pem(pem);
  if (!c || c->der() != leaf.der()) return failed("tlog-body", "transparency-log entry: " + where + "." + key + " is not the bundle's signing certificate");
  return {};
}

Status hash_is(const Json& j, const char* key, const std::string& where, ByteView data, const char* what) {
  CCI_ASSIGN(h, object(j, key, where));
  CCI_ASSIGN(alg, text(*h, "algorithm", where + "." + key));
  CCI_ASSIGN(value, text(*h, "value", where + "." + key));
  if (alg != "sha256") return failed("tlog-body", "transparency-log entry: " + where + "." + key + " uses " + alg + ", not sha256");
  if (value != hex_sha256(data)) return failed("tlog-body", std::string("transparency-log entry: ") + where + "." + key + " is not the SHA-256 of " + what);
  return {};
}

// The entry's body names exactly this bundle's content, signature and certificate.
Status check_body(const TlogEntry& e, const Bundle& b, std::optional<ByteView> artifact) {
  const Json body = Json::parse(e.body.begin(), e.body.end(), nullptr, false);
  if (body.is_discarded() || !body.is_object()) return failed("tlog-body", "transparency-log entry: canonicalizedBody is not a JSON object");
  const std::string kind = body.value("kind", std::string()), api = body.value("apiVersion", std::string());
  if (kind != e.kind || api != e.kind_version) {
    return failed("tlog-body", "transparency-log entry: the body is " + kind + " " + api + ", the entry says " + e.kind + " " + e.kind_version);
  }
  auto spec_r = object(body, "spec", "body");
  if (!spec_r) return as_check(spec_r.error(), "tlog-body");
  const Json& spec = **spec_r;
  const crypto::Certificate& leaf = *b.leaf;
  if (kind == "hashedrekord" && api == "0.0.1") {
    if (!b.message) return failed("tlog-body", "transparency-log entry: a hashedrekord entry for a DSSE bundle");
    Status st = [&]() -> Status {
      CCI_ASSIGN(data, object(spec, "data", "spec"));
      CCI_ASSIGN(sig, object(spec, "signature", "spec"));
      CCI_ASSIGN(content, b64(*sig, "content", "spec.signature"));
      if (content != b.message->signature) return failed("tlog-body", "transparency-log entry: spec.signature.content is not the bundle's signature");
      CCI_ASSIGN(pk, object(*sig, "publicKey", "spec.signature"));
      CCI_TRY(same_certificate(*pk, "content", "spec.signature.publicKey", leaf));
      // The artifact the entry was made for: its digest must be the signed artifact's.
      CCI_ASSIGN(h, object(*data, "hash", "spec.data"));
      CCI_ASSIGN(alg, text(*h, "algorithm", "spec.data.hash"));
      CCI_ASSIGN(value, text(*h, "value", "spec.data.hash"));
      if (alg != "sha256") return failed("tlog-body", "transparency-log entry: spec.data.hash uses " + alg + ", not sha256");
      if (artifact && value != hex_sha256(*artifact)) return failed("tlog-body", "transparency-log entry: spec.data.hash is not the SHA-256 of the artifact");
      if (!artifact && (!b.message->sha256 || value != to_hex(*b.message->sha256))) {
        return failed("tlog-body", "transparency-log entry: spec.data.hash is not the bundle's message digest");
      }
      return {};
    }();
    return st ? st : as_check(st.error(), "tlog-body");
  }
  if (!b.dsse) return failed("tlog-body", "transparency-log entry: a " + kind + " entry for a message-signature bundle");
  const DsseEnvelope& env = *b.dsse;
  if (kind == "dsse" && api == "0.0.1") {
    Status st = [&]() -> Status {
      CCI_TRY(hash_is(spec, "payloadHash", "spec", env.payload, "the DSSE payload"));
      const Json* sigs = get(spec, "signatures");
      if (!sigs || !sigs->is_array() || sigs->size() != 1) return failed("tlog-body", "transparency-log entry: spec.signatures does not list exactly the envelope's one signature");
      CCI_ASSIGN(sig, b64((*sigs)[0], "signature", "spec.signatures[0]"));
      if (sig != env.signature) return failed("tlog-body", "transparency-log entry: spec.signatures[0].signature is not the envelope's signature");
      return same_certificate((*sigs)[0], "verifier", "spec.signatures[0]", leaf);
    }();
    return st ? st : as_check(st.error(), "tlog-body");
  }
  if (kind == "intoto" && api == "0.0.2") {
    Status st = [&]() -> Status {
      CCI_ASSIGN(content, object(spec, "content", "spec"));
      CCI_TRY(hash_is(*content, "payloadHash", "spec.content", env.payload, "the DSSE payload"));
      CCI_ASSIGN(e2, object(*content, "envelope", "spec.content"));
      CCI_ASSIGN(type, text(*e2, "payloadType", "spec.content.envelope"));
      if (type != env.payload_type) return failed("tlog-body", "transparency-log entry: spec.content.envelope.payloadType is not the envelope's");
      const Json* sigs = get(*e2, "signatures");
      if (!sigs || !sigs->is_array() || sigs->size() != 1) return failed("tlog-body", "transparency-log entry: the entry does not list exactly the envelope's one signature");
      // intoto 0.0.2 stores the signature base64-encoded twice.
      CCI_ASSIGN(once, b64((*sigs)[0], "sig", "spec.content.envelope.signatures[0]"));
      auto twice = base64_decode(std::string(once.begin(), once.end()), "signature");
      if (!twice || *twice != env.signature) return failed("tlog-body", "transparency-log entry: spec.content.envelope.signatures[0].sig is not the envelope's signature");
      return same_certificate((*sigs)[0], "publicKey", "spec.content.envelope.signatures[0]", leaf);
    }();
    return st ? st : as_check(st.error(), "tlog-body");
  }
  return Error::make(ErrorCode::kUnsupported, "transparency-log entry: kind " + kind + " " + api + " is not read (hashedrekord 0.0.1, dsse 0.0.1, intoto 0.0.2 are)", "tlog-body");
}

// One Rekor v1 entry: its log, SET, inclusion proof and checkpoint, body. Returns whether its
// integratedTime is verified (a SET that verifies).
Result<bool> verify_entry(const TlogEntry& e, size_t i, const Bundle& b, const TrustedRoot& root, std::optional<ByteView> artifact, std::vector<BundleCheck>& checks) {
  const std::string n = "transparency-log entry " + std::to_string(i) + ": ";
  const auto named = [&n](Error err) {
    err.message = n + err.message;
    return err;
  };
  auto log = log_of(e, root);
  if (!log) return named(log.error());
  checks.push_back({"sigstore.tlog_key", n + "logged by " + (*log)->base_url + ", whose key is valid at " + rfc3339_utc(e.integrated_time)});
  if (Status st = verify_entry_proofs(e, (*log)->key, log_host((*log)->base_url)); !st) return named(st.error());
  if (e.set) {
    checks.push_back({"sigstore.tlog_set", n + "the signed entry timestamp covers logIndex " + std::to_string(e.log_index) + " and integratedTime " + std::to_string(e.integrated_time)});
  }
  if (e.proof) {
    checks.push_back({"sigstore.tlog_inclusion", n + "included at " + std::to_string(e.proof->log_index) + " of " + std::to_string(e.proof->tree_size) +
                                                     " under the checkpoint signed by " + log_host((*log)->base_url)});
  }
  CCI_TRY(check_body(e, b, artifact));
  checks.push_back({"sigstore.tlog_body", n + "its " + e.kind + " body names this bundle's signature and certificate"});
  return e.set.has_value();
}

// RFC 3161 timestamps: each must verify with a timestamp authority of the root whose window
// covers its genTime. The message imprint covers the signature bytes.
Status verify_timestamps(const Bundle& b, const TrustedRoot& root, std::vector<std::time_t>& times, std::vector<BundleCheck>& checks) {
  const Bytes& signature = b.dsse ? b.dsse->signature : b.message->signature;
  for (size_t i = 0; i < b.timestamps.size(); ++i) {
    const std::string n = "RFC 3161 timestamp " + std::to_string(i);
    std::string why = "no timestamp authority in the trusted root";
    bool ok = false;
    for (const auto& tsa : root.tsas) {
      auto t = crypto::verify_rfc3161(b.timestamps[i], signature, tsa.chain);
      if (!t) {
        why = t.error().message;
        continue;
      }
      if (!tsa.valid.covers(t->gen_time)) {
        why = "its genTime " + rfc3339_utc(t->gen_time) + " is outside the window of " + (tsa.uri.empty() ? t->tsa : tsa.uri);
        continue;
      }
      times.push_back(t->gen_time);
      checks.push_back({"sigstore.timestamp", n + ": " + rfc3339_utc(t->gen_time) + ", signed by " + t->tsa});
      ok = true;
      break;
    }
    if (!ok) return failed("tsa-timestamp", n + ": " + why);
  }
  return {};
}

bool identity_matches(const SignerIdentity& who, const ExpectedSigner& want) {
  if (!want.identity_regexp.empty()) {
    try {
      return std::regex_match(who.san, std::regex(want.identity_regexp, std::regex::ECMAScript));
    } catch (const std::regex_error&) {
      return false;
    }
  }
  return who.san == want.identity;
}

// The in-toto statement's subjects include the artifact's SHA-256.
Status statement_names(const DsseEnvelope& env, ByteView artifact) {
  const Json st = Json::parse(env.payload.begin(), env.payload.end(), nullptr, false);
  const std::string want = hex_sha256(artifact);
  if (env.payload_type == "application/vnd.in-toto+json" && st.is_object() && st.contains("subject") && st["subject"].is_array()) {
    for (const auto& s : st["subject"]) {
      const Json* d = get(s, "digest");
      if (d && d->is_object() && d->contains("sha256") && (*d)["sha256"].is_string() && (*d)["sha256"].get<std::string>() == want) return {};
    }
  }
  return failed("artifact", "the artifact's SHA-256 " + want + " is not a subject of the signed in-toto statement");
}

}  // namespace

std::string log_host(const std::string& base_url) {
  const size_t s = base_url.find("://");
  const std::string h = s == std::string::npos ? base_url : base_url.substr(s + 3);
  return h.substr(0, h.find('/'));
}

Result<const LogKey*> log_of(const TlogEntry& e, const TrustedRoot& root) {
  const LogKey* log = find_log(root.tlogs, e.log_id);
  if (!log) return failed("tlog-key-unknown", "its log (id " + to_hex(e.log_id) + ") is not in the trusted root");
  if (!log->valid.covers(e.integrated_time)) {
    return failed("tlog-key-validity", "the key of " + log->base_url + " is not valid at the entry's integratedTime " + rfc3339_utc(e.integrated_time));
  }
  return log;
}

Status verify_entry_proofs(const TlogEntry& e, const crypto::PublicKey& log_key, const std::string& log_name) {
  if (e.set) {
    Status st = verify_set(e.body, e.integrated_time, e.log_id, e.log_index, *e.set, log_key);
    if (!st) return as_check(st.error(), "tlog-set");
  }
  if (e.proof) {
    const InclusionProof& p = *e.proof;
    Status st = verify_inclusion(leaf_hash(e.body), p.log_index, p.tree_size, p.hashes, p.root_hash);
    if (!st) return as_check(st.error(), "tlog-inclusion-proof");
    auto cp = parse_checkpoint(p.checkpoint);
    if (!cp) return as_check(cp.error(), "tlog-checkpoint");
    if (cp->tree_size != p.tree_size || cp->root_hash != p.root_hash) {
      return failed("tlog-checkpoint", "the checkpoint commits to a tree of " + std::to_string(cp->tree_size) + " leaves with root " + to_hex(cp->root_hash) +
                                           ", the proof to " + std::to_string(p.tree_size) + " with root " + to_hex(p.root_hash));
    }
    // Without a log name the checkpoint origin's ("NAME - TREE ID") is taken: the key is what
    // authenticates the note.
    const std::string name = !log_name.empty() ? log_name : cp->origin.substr(0, cp->origin.find(" - "));
    st = verify_checkpoint(*cp, log_key, name);
    if (!st) return as_check(st.error(), "tlog-checkpoint");
  }
  return {};
}

Result<Bundle> parse_bundle(ByteView json) {
  if (json.size() > kMaxBundleBytes) return bad("(bundle)", "is larger than " + std::to_string(kMaxBundleBytes) + " bytes");
  const Json doc = Json::parse(json.begin(), json.end(), nullptr, false);
  if (doc.is_discarded()) return bad("(bundle)", "is not valid JSON");
  if (!doc.is_object()) return bad("(bundle)", "is not a JSON object");
  Bundle b;
  CCI_ASSIGN(media, text(doc, "mediaType", "bundle"));
  CCI_ASSIGN(version, media_version(media));
  b.media_type = media;
  b.version = version;
  CCI_ASSIGN(vm, object(doc, "verificationMaterial", "bundle"));
  const std::string w = "verificationMaterial";
  if (get(*vm, "certificate")) {
    CCI_ASSIGN(c, object(*vm, "certificate", w));
    CCI_ASSIGN(cert, certificate(*c, w + ".certificate"));
    b.leaf = std::move(cert);
  } else if (get(*vm, "x509CertificateChain")) {
    CCI_ASSIGN(chain, object(*vm, "x509CertificateChain", w));
    const Json* certs = get(*chain, "certificates");
    if (!certs || !certs->is_array() || certs->empty()) return bad(w + ".x509CertificateChain.certificates", "is missing or empty");
    if (certs->size() > 8) return bad(w + ".x509CertificateChain.certificates", "lists more than 8 certificates");
    for (size_t i = 0; i < certs->size(); ++i) {
      CCI_ASSIGN(cert, certificate((*certs)[i], w + ".x509CertificateChain.certificates[" + std::to_string(i) + "]"));
      // The chain is never trusted (the trusted root's is used) and must not carry a root.
      if (self_signed(cert)) return bad(w + ".x509CertificateChain.certificates[" + std::to_string(i) + "]", "is a self-signed root: a bundle's chain must not carry one");
      if (i == 0) b.leaf = std::move(cert);
    }
  } else if (!get(*vm, "publicKey")) {
    return bad(w, "has no certificate, x509CertificateChain or publicKey");
  }
  if (b.leaf && self_signed(*b.leaf)) return bad(w, "holds a self-signed certificate, not a signing certificate");
  const Json* entries = get(*vm, "tlogEntries");
  if (entries && !entries->is_array()) return bad(w + ".tlogEntries", "is not a list");
  if (entries && entries->size() > kMaxTlogEntries) return bad(w + ".tlogEntries", "has more than " + std::to_string(kMaxTlogEntries) + " entries");
  if (entries) {
    for (size_t i = 0; i < entries->size(); ++i) {
      CCI_ASSIGN(e, tlog_entry((*entries)[i], w + ".tlogEntries[" + std::to_string(i) + "]", version));
      b.tlog.push_back(std::move(e));
    }
  }
  if (const Json* tvd = get(*vm, "timestampVerificationData")) {
    if (!tvd->is_object()) return bad(w + ".timestampVerificationData", "is not an object");
    const Json* ts = get(*tvd, "rfc3161Timestamps");
    if (ts && !ts->is_array()) return bad(w + ".timestampVerificationData.rfc3161Timestamps", "is not a list");
    if (ts && ts->size() > kMaxTimestamps) return bad(w + ".timestampVerificationData.rfc3161Timestamps", "has more than " + std::to_string(kMaxTimestamps));
    if (ts) {
      for (size_t i = 0; i < ts->size(); ++i) {
        CCI_ASSIGN(der, b64((*ts)[i], "signedTimestamp", w + ".timestampVerificationData.rfc3161Timestamps[" + std::to_string(i) + "]"));
        b.timestamps.push_back(std::move(der));
      }
    }
  }
  const bool has_msg = get(doc, "messageSignature") != nullptr, has_dsse = get(doc, "dsseEnvelope") != nullptr;
  if (has_msg == has_dsse) return bad("(bundle)", "must hold exactly one of messageSignature and dsseEnvelope");
  if (has_msg) {
    CCI_ASSIGN(m, object(doc, "messageSignature", "bundle"));
    MessageSignature ms;
    if (get(*m, "messageDigest")) {
      CCI_ASSIGN(md, object(*m, "messageDigest", "messageSignature"));
      CCI_ASSIGN(alg, text(*md, "algorithm", "messageSignature.messageDigest"));
      CCI_ASSIGN(d, b64(*md, "digest", "messageSignature.messageDigest"));
      if (alg != "SHA2_256" || d.size() != 32) return bad("messageSignature.messageDigest", "is not a SHA2_256 digest of 32 bytes");
      ms.sha256 = std::move(d);
    }
    CCI_ASSIGN(sig, b64(*m, "signature", "messageSignature"));
    if (sig.empty()) return bad("messageSignature.signature", "is empty");
    ms.signature = std::move(sig);
    b.message = std::move(ms);
  } else {
    CCI_ASSIGN(env, object(doc, "dsseEnvelope", "bundle"));
    DsseEnvelope d;
    CCI_ASSIGN(type, text(*env, "payloadType", "dsseEnvelope"));
    CCI_ASSIGN(payload, b64(*env, "payload", "dsseEnvelope"));
    d.payload_type = type;
    d.payload = std::move(payload);
    const Json* sigs = get(*env, "signatures");
    if (!sigs || !sigs->is_array() || sigs->size() != 1) return bad("dsseEnvelope.signatures", "must hold exactly one signature");
    CCI_ASSIGN(sig, b64((*sigs)[0], "sig", "dsseEnvelope.signatures[0]"));
    if (sig.empty()) return bad("dsseEnvelope.signatures[0].sig", "is empty");
    d.signature = std::move(sig);
    b.dsse = std::move(d);
  }
  return b;
}

Result<VerifiedBundle> verify_bundle(const Bundle& b, const TrustedRoot& root, const ExpectedSigner& who, std::optional<ByteView> artifact, std::time_t now) {
  if (!b.leaf) return Error::make(ErrorCode::kUsage, "the bundle was signed with a key, not keylessly: verify it with the release key", "bundle");
  if (b.message && !artifact) return Error::make(ErrorCode::kUsage, "a message-signature bundle needs the artifact it signs", "artifact");
  if (who.issuer.empty() || (who.identity.empty() && who.identity_regexp.empty())) {
    return Error::make(ErrorCode::kUsage, "a keyless signature is only as good as the signer it names: give the expected identity and issuer", "identity");
  }
  VerifiedBundle v;
  // The transparency log (Sigstore Client Spec, "Transparency log entry" verification).
  if (b.tlog.empty()) return failed("tlog-inclusion-proof", "the bundle has no transparency-log entry: a keyless signature must be logged");
  for (size_t i = 0; i < b.tlog.size(); ++i) {
    CCI_ASSIGN(timed, verify_entry(b.tlog[i], i, b, root, artifact, v.checks));
    if (timed) v.times.push_back(b.tlog[i].integrated_time);
  }
  CCI_TRY(verify_timestamps(b, root, v.times, v.checks));
  if (v.times.empty()) return failed("signing-time", "no verified signing time: neither a signed entry timestamp nor an RFC 3161 timestamp verifies");
  for (const std::time_t t : v.times) {
    if (t > now + kClockSkew) return failed("signing-time", "the verified signing time " + rfc3339_utc(t) + " lies in the future (now " + rfc3339_utc(now) + ")");
  }
  // The certificate at every verified time (Sigstore Client Spec, "Certificate" verification).
  std::optional<crypto::Certificate> issuer;
  for (const std::time_t t : v.times) {
    auto is = verify_fulcio_chain(*b.leaf, root, t);
    if (!is) return as_check(is.error(), "certificate-chain");
    issuer = std::move(*is);
  }
  v.checks.push_back({"sigstore.certificate", "the Fulcio certificate chains to the trusted root and is valid at every verified time"});
  Status sct = verify_embedded_sct(*b.leaf, *issuer, root);
  if (!sct) return as_check(sct.error(), "sct");
  v.checks.push_back({"sigstore.sct", "the certificate carries an SCT by a CT log of the trusted root"});
  auto signer = fulcio_identity(*b.leaf);
  if (!signer) return as_check(signer.error(), "identity");
  if (!identity_matches(*signer, who)) {
    return failed("identity", "signer identity: the certificate names " + signer->san + ", not " + (who.identity_regexp.empty() ? who.identity : "a match of " + who.identity_regexp));
  }
  if (signer->issuer != who.issuer) return failed("issuer", "signer identity: issued by " + signer->issuer + ", not " + who.issuer);
  v.signer = *signer;
  v.checks.push_back({"sigstore.identity", "signed by " + signer->san + " (" + signer->san_kind + "), issuer " + signer->issuer});
  // The signature over the content.
  CCI_ASSIGN(key, b.leaf->public_key());
  if (b.message) {
    if (b.message->sha256 && *b.message->sha256 != crypto::digest(crypto::DigestAlg::kSha256, *artifact)) {
      return failed("artifact", "messageSignature.messageDigest is not the artifact's SHA-256");
    }
    if (!crypto::verify(key, *artifact, b.message->signature)) return failed("signature", "the message signature does not verify over the artifact with the certificate's key");
    v.checks.push_back({"sigstore.signature", "the message signature verifies over the artifact (SHA-256 " + hex_sha256(*artifact) + ")"});
  } else {
    if (!crypto::verify(key, dsse_pae(b.dsse->payload_type, b.dsse->payload), b.dsse->signature)) {
      return failed("dsse-signature", "the DSSE signature does not verify over the envelope's payload with the certificate's key");
    }
    v.checks.push_back({"sigstore.dsse_signature", "the DSSE signature verifies over the " + b.dsse->payload_type + " payload"});
    if (artifact) {
      CCI_TRY(statement_names(*b.dsse, *artifact));
      v.checks.push_back({"sigstore.subject", "the artifact's SHA-256 is a subject of the signed statement"});
    }
    v.dsse = &*b.dsse;
  }
  return v;
}

}  // namespace cci::sigstore
