// cci-run serve: the attested inference server. The tool reads the release key and the signed
// manifest once and verifies them and every model file (model_loading.h), opens the TEE, and hands
// the verified bytes and descriptors to the accept loop (common/serve/accept_loop.h).
#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <memory>

#include "attested_identity.h"
#include "commands.h"
#include "cli/keyless.h"
#include "model_loading.h"
#include "base/file_io.h"
#include "collateral/http.h"
#include "crypto/aead.h"
#include "crypto/tls.h"
#include "infer/device.h"
#include "kbs/client.h"
#include "kbs/key_source.h"
#include "attest/gpu_source.h"
#include "kbs/trustee_evidence.h"
#include "sealed/key_file.h"
#include "serve/accept_loop.h"
#include "serve/log.h"
#include "serve/spawn.h"

namespace cci::tools::run {
namespace {

struct ServeCliOptions {
  bool exit_with_parent = false;
  attest::SourceOptions source;
  std::string model, manifest, deployment, release_key;
  cli::KeylessFlags release_keyless;  // a keyless model bundle's signer, instead of release_key
  std::string key_source;  // "" : push when the model is encrypted
  std::string kbs_cert, kbs_tee = "auto", cdh_url = "http://127.0.0.1:8006";
  bool insecure_http_kbs = false;
  std::string gpu = "none";  // none | nvml | sim: confidential GPUs whose evidence fresh answers carry
  std::string device = "cpu";  // where the workers compute: only the CPU so far
  serve::ServeConfig config;
};

// The TEE behind the accept loop: evidence from the source --tee names.
class SourceAttestor final : public serve::Attestor {
 public:
  SourceAttestor(std::unique_ptr<attest::EvidenceSource> s, std::unique_ptr<attest::GpuSource> gpu) : source_(std::move(s)), gpu_(std::move(gpu)) {}
  bool has_gpus() const override { return gpu_ != nullptr; }
  Result<Bytes> gpu_evidence(ByteView nonce) override {
    if (!gpu_) return serve::Attestor::gpu_evidence(nonce);
    return gpu_->evidence(nonce);
  }
  Result<serve::IssuedCertificate> issue(const crypto::PrivateKey& key, const ratls::Claims& claims, const ratls::AttestedCertSpec& spec) override {
    return issue_attested_certificate(*source_, key, claims, spec);
  }
  Result<Bytes> tagged_evidence(ByteView claims_cbor) override { return tagged_evidence_for(*source_, claims_cbor); }
  Result<Bytes> evidence_file(ByteView report_data) override {
    CCI_ASSIGN(ev, source_->get_evidence(report_data));
    const std::string text = evidence::write_evidence_file(ev.file);
    return Bytes(text.begin(), text.end());
  }
  std::string tee() const override { return source_->tee(); }

 private:
  std::unique_ptr<attest::EvidenceSource> source_;
  std::unique_ptr<attest::GpuSource> gpu_;
};

// kbs://HOST:PORT/REPO/TYPE/TAG: the RCAR handshake with this TEE's evidence (kbs/client.h). The
// KBS's certificate is pinned (--kbs-cert); plain http only when named (--insecure-http-kbs).
Result<std::function<Result<crypto::SecretBytes>(serve::Attestor&)>> kbs_fetcher(const ServeCliOptions& o, const kbs::KeySource& source) {
  auto opts = std::make_shared<kbs::KbsClientOptions>();
  const std::string host = source.host.find(':') != std::string::npos ? "[" + source.host + "]" : source.host;
  opts->base_url = std::string(o.insecure_http_kbs ? "http://" : "https://") + host + ":" + std::to_string(source.port);
  opts->allow_plain_http = o.insecure_http_kbs;
  if (!o.insecure_http_kbs) {
    if (o.kbs_cert.empty()) {
      return make_error(ErrorCode::kUsage, "--key-source kbs:// needs the KBS's certificate to pin (--kbs-cert kbs.crt), or --insecure-http-kbs for a KBS without TLS",
                        "kbs-cert");
    }
    CCI_ASSIGN(pem, read_file(o.kbs_cert, 1u << 20));
    CCI_ASSIGN(cert, crypto::Certificate::from_pem(pem));
    opts->pinned_public_key = crypto::public_key_pin(cert);
  }
  // Trustee's verifiers read TEE-specific evidence JSON (guest-components' attesters): SNP and
  // CSV in their own shapes, a simulator as the sample TEE unless --kbs-tee names its hardware's
  // shape (kbs/trustee_evidence.h). With --tee auto the TEE is known once the source is open.
  if (o.source.tee != "auto") {
    CCI_TRY(kbs::kbs_tee_for(o.source.tee, o.kbs_tee));
  }
  opts->note = [](const std::string& m) { serve::log_event("accept", "kbs", {{"step", m}}); };
  const std::string resource = source.resource();
  const std::string requested = o.kbs_tee;
  return std::function<Result<crypto::SecretBytes>(serve::Attestor&)>([opts, resource, requested](serve::Attestor& attestor) -> Result<crypto::SecretBytes> {
    kbs::KbsClientOptions run = *opts;
    CCI_ASSIGN(kbs_tee, kbs::kbs_tee_for(attestor.tee(), requested));
    run.tee = kbs_tee;
    return kbs::fetch_resource(run, resource, [&attestor, kbs_tee](ByteView report_data) -> Result<nlohmann::json> {
      if (kbs_tee == "sample") return kbs::primary_evidence(kbs_tee, evidence::EvidenceFile{}, report_data);
      CCI_ASSIGN(bytes, attestor.evidence_file(report_data));
      CCI_ASSIGN(file, evidence::parse_evidence_file(bytes));
      return kbs::primary_evidence(kbs_tee, file, report_data);
    });
  });
}

// cdh:///REPO/TYPE/TAG: the Confidential Data Hub of this pod (Confidential Containers), which
// attests the pod itself and answers GET /cdh/resource/REPO/TYPE/TAG with the plaintext, on loopback.
std::function<Result<crypto::SecretBytes>(serve::Attestor&)> cdh_fetcher(const ServeCliOptions& o, const kbs::KeySource& source) {
  const std::string url = o.cdh_url + "/cdh/resource/" + source.resource();
  return [url](serve::Attestor&) -> Result<crypto::SecretBytes> {
    collateral::HttpOptions http;
    http.allow_plain_http = true;  // the CDH listens on 127.0.0.1 inside the pod
    http.plain_http_flag = "--cdh-url";
    http.max_attempts = 1;
    http.max_body = 4096;
    CCI_ASSIGN(res, collateral::http_get_once(url, http));
    crypto::SecretBytes body(std::move(res.body));
    if (res.status != 200) return make_error(ErrorCode::kIo, "the Confidential Data Hub answered HTTP " + std::to_string(res.status), "cdh");
    if (body.size() != crypto::kAeadKeyBytes) {
      return make_error(ErrorCode::kInvalidInput, "the Confidential Data Hub's resource is " + std::to_string(body.size()) + " bytes, not a 32-byte model key",
                        "cdh");
    }
    return body;
  };
}

void set_signer(serve::ServeRelease& r, const manifest::ReleaseSigner& s) {
  r.key_pem = s.key_pem;
  r.trusted_root = s.trusted_root;
  r.identity = s.identity.identity;
  r.identity_regexp = s.identity.identity_regexp;
  r.issuer = s.identity.issuer;
}

// An encrypted model (the deployment manifest records its encryption): the ciphertext is opened and
// checked against the signed record now; the key comes later, from the key source, and the
// plaintext is then checked against the signed model exactly as a plain model is.
Result<serve::ServeRelease> load_sealed_release(const ServeCliOptions& o, manifest::Release release, const manifest::EncryptionRecord& record,
                                                const cli::Context& ctx) {
  // The key source first: its usage errors (and a missing key file) before the ciphertext is read.
  CCI_ASSIGN(source, kbs::parse_key_source(o.key_source.empty() ? "push" : o.key_source));
  serve::SealedRelease sealed;
  sealed.key_source = source.name();
  sealed.key_id = record.key_id;
  if (source.kind == kbs::KeySource::Kind::kFile) {
    // Development only: read now, handed over once on the attester thread. A key that does not
    // open the model is not asked for again: the file was read at start.
    CCI_ASSIGN(key, sealed::read_key_file(source.path, "key-source", [&ctx](const std::string& m) { ctx.warn(m); }));
    auto held = std::make_shared<crypto::SecretBytes>(std::move(key));
    sealed.fetch = [held](serve::Attestor&) -> Result<crypto::SecretBytes> {
      if (held->empty()) {
        return make_error(ErrorCode::kVerificationFailed, "the key file read at start did not open the model: restart with the right --key-source file",
                          "key-source");
      }
      return std::move(*held);  // moved out: nothing of it stays here
    };
  } else if (source.kind == kbs::KeySource::Kind::kKbs) {
    CCI_ASSIGN(fetch, kbs_fetcher(o, source));
    sealed.fetch = std::move(fetch);
  } else if (source.kind == kbs::KeySource::Kind::kCdh) {
    sealed.fetch = cdh_fetcher(o, source);
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto files = manifest::open_recorded_model(o.model, record);
  if (!files) return make_error(files.error().code, "refusing to serve: " + files.error().message, files.error().field);
  serve::log_event("accept", "ciphertext_verified", {{"files", files->files.size()}, {"bytes", files->plaintext_bytes},
                                                     {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}});
  serve::ServeRelease r;
  r.manifest = release.manifest;
  set_signer(r, release.signer);
  r.deployment = true;
  r.where = o.model;
  const unsigned threads = o.config.threads > 0 ? static_cast<unsigned>(o.config.threads) : 0;
  auto shared_release = std::make_shared<manifest::Release>(std::move(release));
  auto shared_files = std::make_shared<manifest::SealedFiles>(std::move(*files));
  sealed.unseal = [shared_release, shared_files, threads](ByteView key) -> Result<std::vector<std::pair<std::string, UniqueFd>>> {
    CCI_ASSIGN(plain, unseal_release_model(*shared_release, *shared_files, key, threads));
    std::vector<std::pair<std::string, UniqueFd>> out;
    for (auto& f : plain) out.emplace_back(std::move(f.name), std::move(f.fd));
    return out;
  };
  r.sealed = std::move(sealed);
  return r;
}

// Read once, verify once: the key and the manifest as bytes, the model's files as descriptors.
Result<serve::ServeRelease> load_release(const ServeCliOptions& o, const cli::Context& ctx) {
  const bool deployment = !o.deployment.empty();
  if (deployment == !o.manifest.empty()) {
    return make_error(ErrorCode::kUsage, "give the signed deployment manifest (--deployment cci-manifest.json) or, where none exists, a model bundle (--signature model.sig)", "deployment");
  }
  const std::string& file = deployment ? o.deployment : o.manifest;
  const auto t0 = std::chrono::steady_clock::now();
  CCI_ASSIGN(signer, cli::load_release_signer(o.release_key, o.release_keyless));
  auto verified = read_release(file, std::move(signer));
  if (!verified) return make_error(verified.error().code, "refusing to serve: " + verified.error().message, verified.error().field);
  if (verified->kind == manifest::Release::Kind::kDeployment && deployment) {
    CCI_ASSIGN(record, manifest::encryption_record(verified->deployment->predicate));
    if (record) return load_sealed_release(o, std::move(*verified), *record, ctx);
  }
  if (!o.key_source.empty()) {
    return make_error(ErrorCode::kUsage, "--key-source is for an encrypted model, and " + file + " records no encryption (cci-measure encrypt, then model.encrypted in the deployment)",
                      "key-source");
  }
  auto model = load_release_files(std::move(*verified), o.model, file);
  if (!model) return make_error(model.error().code, "refusing to serve: " + model.error().message, model.error().field);
  const bool is_deployment = model->release.kind == manifest::Release::Kind::kDeployment;
  if (deployment && !is_deployment) return make_error(ErrorCode::kUsage, o.deployment + " is a model bundle, not a deployment manifest: give it with --signature", "deployment");
  if (!deployment && is_deployment) return make_error(ErrorCode::kUsage, o.manifest + " is a deployment manifest: give it with --deployment", "manifest");
  serve::log_event("accept", "model_verified", {{"files", model->files.files().size()},
                                               {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}});
  serve::ServeRelease r;
  r.manifest = std::move(model->release.manifest);
  set_signer(r, model->release.signer);
  r.deployment = is_deployment;
  r.where = o.model;
  r.single_file = model->files.single_file();
  for (auto& f : model->files.take_files()) r.files.emplace_back(std::move(f.name), std::move(f.fd));
  return r;
}

int run_serve(ServeCliOptions o, const cli::Context& ctx) {
  const std::string schema = "cci.run.serve.v1";
  serve::ServeConfig& c = o.config;
  // A supervisor or benchmark that dies (even by SIGKILL) takes this server with it: the kernel
  // sends SIGTERM, which stops the server and its workers as usual. The parent may already be
  // gone by the time the request is made; then stop at once.
  if (o.exit_with_parent) {
    const pid_t parent = ::getppid();
    if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || ::getppid() != parent) {
      return ctx.fail(make_error(ErrorCode::kIo, "--exit-with-parent: the process that started cci-run serve has already exited", "exit-with-parent"), schema);
    }
  }
  if (c.model_id.empty()) c.model_id = std::filesystem::path(o.model).lexically_normal().filename().string();
  if (c.model_id.empty()) c.model_id = "model";
  if (!(c.cert_hours > 1 && c.cert_hours <= 24)) return ctx.fail(make_error(ErrorCode::kUsage, "--cert-hours must be in (1, 24]", "cert-hours"), schema);
  if (c.max_connections < 1 || c.max_users < 1 || c.max_user_connections < 1 || c.max_tokens < 1 || c.max_pending < 1 ||
      c.max_peer_connections < 1) {
    return ctx.fail(make_error(ErrorCode::kUsage, "limits must be at least 1"), schema);
  }
  if (!(c.handshake_timeout > 0) || !(c.write_timeout > 0) || !(c.request_timeout > 0) || !(c.fresh_rate > 0)) {
    return ctx.fail(make_error(ErrorCode::kUsage, "timeouts and --fresh-rate must be positive"), schema);
  }
  if (auto st = serve::check_listen_address(c.listen); !st) return ctx.fail(st.error(), schema);
  auto device = infer::parse_device(o.device);
  if (!device) return ctx.fail(device.error(), schema);
  if (device->is_cuda()) {
    // Not built yet, and said so rather than run half-protected: a worker's seccomp filter admits
    // no device ioctls (the CUDA driver's calls), and N users' workers would each copy the weights
    // into the GPU's memory where the CPU workers share one mapping.
    return ctx.fail(make_error(ErrorCode::kUnsupported,
                               "--device " + device->text() +
                                   ": cci-run serve computes on the CPU only so far (its per-user workers' system-call filter admits no GPU "
                                   "driver calls); cci-run generate and cci-bench infer take --device cuda (docs/cuda.md)",
                               "device"),
                    schema);
  }
  c.conn_exe = serve::own_executable_dir() + "/cci-run-conn";
  c.worker_command = {serve::own_executable_dir() + "/cci-run-engine", "serve-worker"};  // the workers run libtorch
  c.version = cli::version_string();
  auto release = load_release(o, ctx);
  if (!release) return ctx.fail(release.error(), schema);
  auto source = open_evidence_source(o.source, ctx);
  if (!source) return ctx.fail(source.error(), schema);
  if (o.key_source.rfind("kbs://", 0) == 0) {
    // --tee auto: the TEE is known now; a --kbs-tee that does not fit it stops the start.
    if (auto t = kbs::kbs_tee_for((*source)->tee(), o.kbs_tee); !t) return ctx.fail(t.error(), schema);
  }
  std::unique_ptr<attest::GpuSource> gpu;
  if (o.gpu != "none") {
    auto g = attest::select_gpu_source(o.gpu, o.source.sim_dir);
    if (!g) return ctx.fail(g.error(), schema);
    // A first collection now: a GPU that cannot attest stops the start, not the first client.
    Bytes probe(32, 0);
    if (auto ev = (*g)->evidence(probe); !ev) return ctx.fail(make_error(ev.error().code, "--gpu " + o.gpu + ": " + ev.error().message, "gpu"), schema);
    if ((*g)->simulated()) ctx.warn((*g)->describe() + ": its evidence proves nothing about hardware");
    else ctx.info("confidential GPUs: " + (*g)->describe() + "; their evidence goes with every fresh answer");
    gpu = std::move(*g);
  }
  serve::ServeOutput out;
  out.info = [&ctx](const std::string& m) { ctx.info(m); };
  out.warn = [&ctx](const std::string& m) { ctx.warn(m); };
  auto st = serve::run_accept_loop(c, std::move(*release), std::make_unique<SourceAttestor>(std::move(*source), std::move(gpu)), out);
  if (!st) return ctx.fail(st.error(), schema);
  return 0;
}

}  // namespace

void add_serve(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<ServeCliOptions>();
  serve::ServeConfig& c = o->config;
  auto* sub = app.add_subcommand("serve", "Serve the model over attested TLS 1.3 with an OpenAI-compatible API, one isolated worker per user");
  sub->footer(
      "At start: the signed deployment manifest (--deployment) against --release-key, every model file against\n"
      "it (any mismatch: no start), evidence from the TEE, and a P-384 key made in memory with an attested\n"
      "certificate (cci RA-TLS v1, 2.23.133.5.4.9) whose claims carry the manifest's SHA-256. Every file is\n"
      "read once: workers get the verified bytes and descriptors, never paths.\n"
      "Clients check it before sending anything, with nothing but the URL and the release key:\n"
      "  cci-verify remote https://HOST:PORT --release-key release.pub\n"
      "(the manifest comes from GET /v1/attestation/manifest; its signature, the claims, the launch measurement\n"
      "and the policy are checked; POST /v1/attestation/fresh gives evidence bound to the client's nonce and TLS\n"
      "connection). A plain model bundle (--signature) names no VM: clients must then pin a measurement.\n"
      "Endpoints: POST /v1/completions, POST /v1/chat/completions (\"stream\": true for server-sent events),\n"
      "GET /v1/models, GET /v1/attestation/certificate, GET /v1/attestation/manifest, POST /v1/attestation/fresh,\n"
      "GET /health.\n"
      "Isolation: every connection is its own exec'd process (TLS, HTTP) bound to one user; every user has\n"
      "an exec'd worker (the model, the prompts, the KV cache) that never serves anyone else; both run with\n"
      "PR_SET_DUMPABLE 0, no core dumps, no new privileges, an allow-listed environment and a seccomp\n"
      "allow-list. Logs (stderr, JSON lines) never contain prompts, outputs or request paths.\n"
      "Hostile clients: silent sockets hold no process and close after --handshake-timeout; connections that\n"
      "have not authenticated are evicted oldest first when --max-connections or --max-peer-connections is\n"
      "reached; fresh evidence is rate limited (--fresh-rate, --max-fresh); a client that stops reading is cut\n"
      "off after --write-timeout. The API key file is re-read when it changes (or on SIGHUP): a revoked user's\n"
      "connections and worker end at once. SIGTERM/SIGINT stop the server.\n"
      "Encrypted model (cci-measure encrypt; the deployment manifest records it): --model is the encrypted\n"
      "directory; the server starts sealed (completions 503 until the key) and takes the key from --key-source:\n"
      "push (the owner runs cci-verify remote URL --release-key release.pub --provision-key dek.bin), kbs://,\n"
      "cdh:///, or file:// for development. It decrypts into memory only and checks every byte as for a plain model.\n"
      "Examples:\n"
      "  cci-run keys add --file api-keys.txt --user alice\n"
      "  cci-run serve --model ./model --deployment cci-manifest.json --release-key release.pub --api-keys api-keys.txt\n"
      "  cci-run serve --tee sim-snp --sim-dir ./sim ... --listen 127.0.0.1:0 --ready-file ready.json");
  add_evidence_source_flags(sub, o->source);
  sub->add_option("--gpu", o->gpu,
                  "Confidential GPUs whose evidence every fresh answer carries, bound to it (docs/nvidia-gpu.md): none, nvml (NVIDIA GPUs in "
                  "CC mode, through the driver's NVML) or sim (the simulated GPU in --sim-dir)")
      ->capture_default_str()
      ->check(CLI::IsMember({"none", "nvml", "sim"}));
  sub->add_option("--device", o->device, "Where the workers compute: cpu (cuda: not yet for serve, docs/cuda.md)")->capture_default_str();
  sub->add_option("--model", o->model, "Model directory (safetensors, config.json, tokenizer)")->required();
  sub->add_option("--deployment", o->deployment,
                  "The signed deployment manifest (cci-measure manifest build): the model's files, the launch measurements and the policy clients check");
  cli::add_alias(sub, sub->add_option("--signature", o->manifest,
                  "Instead of --deployment, where none exists: the model's signed bundle (cci-measure model); clients cannot check the VM"), "--manifest", o->manifest);
  sub->add_option("--release-key", o->release_key, "Public key the manifest must be signed with (PEM)");
  cli::add_keyless_flags(sub, o->release_keyless, "release-");
  sub->add_option("--key-source", o->key_source,
                  "An encrypted model's key (its deployment manifest records the encryption; --model is then the encrypted directory): "
                  "push (default: the owner sends it after verifying, cci-verify remote --provision-key), kbs://HOST:PORT/REPO/TYPE/TAG (a trustee "
                  "KBS, --kbs-cert), cdh:///REPO/TYPE/TAG (a Confidential Containers pod's data hub), file://PATH (development only)");
  sub->add_option("--kbs-cert", o->kbs_cert, "The KBS's TLS certificate (PEM): its key is pinned");
  sub->add_option("--kbs-tee", o->kbs_tee,
                  "The TEE the KBS is told and the shape of the evidence it gets: auto (snp, csv or tdx as the hardware is; sample, trustee's "
                  "test TEE, for a simulator), snp, csv or tdx (a simulator's evidence in the hardware's shape, for a test KBS that trusts its roots)")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "snp", "csv", "tdx", "sample"}));
  sub->add_flag("--insecure-http-kbs", o->insecure_http_kbs, "Talk to the KBS over plain http (its answers are still encrypted to this TEE's key)");
  sub->add_option("--cdh-url", o->cdh_url, "The Confidential Data Hub's address")->capture_default_str();
  sub->add_option("--api-keys", c.api_keys, "API key file: 'USER_ID sha256:HEX' lines (cci-run keys add); re-read when it changes")->required();
  sub->add_option("--listen", c.listen, "Address to listen on, HOST:PORT (port 0: any free port)")->capture_default_str();
  sub->add_option("--ready-file", c.ready_file, "Once listening, write {url, pin, pid, manifest_sha256} here (JSON)");
  sub->add_option("--model-id", c.model_id, "Model name in the API (default: the model directory's name)");
  sub->add_option("--deploy", c.deploy, "cci-deploy claim (deployment id)");
  sub->add_option("--dns", c.dns, "subjectAltName DNS name (repeatable; default localhost)");
  sub->add_option("--cert-hours", c.cert_hours, "Certificate validity; renewed an hour before it ends")->capture_default_str();
  sub->add_option("-j,--threads", c.threads, "Intra-op threads per worker (0: all cores)")->capture_default_str();
  sub->add_option("--context", c.context, "KV cache length per worker (0: the model's)")->capture_default_str();
  sub->add_option("--max-connections", c.max_connections, "Connection processes at most (unauthenticated ones are evicted for newcomers)")->capture_default_str();
  sub->add_option("--max-peer-connections", c.max_peer_connections, "Connection processes per client address at most")->capture_default_str();
  sub->add_option("--max-pending", c.max_pending, "Accepted sockets that have sent nothing yet, at most (oldest closed first)")->capture_default_str();
  sub->add_option("--max-users", c.max_users, "Users with a live worker at most (more get 503)")->capture_default_str();
  sub->add_option("--max-user-connections", c.max_user_connections, "Concurrent connections per user at most (more get 429)")->capture_default_str();
  sub->add_option("--max-body-bytes", c.max_body_bytes, "Request body limit (413 above)")->capture_default_str();
  sub->add_option("--max-prompt-bytes", c.max_prompt_bytes, "Prompt limit after the chat template (400 above)")->capture_default_str();
  sub->add_option("--max-tokens", c.max_tokens, "Completion tokens a request may ask for at most")->capture_default_str();
  sub->add_option("--max-fresh", c.max_fresh, "Fresh evidence answers per connection at most")->capture_default_str();
  sub->add_option("--fresh-rate", c.fresh_rate, "Fresh evidence answers per second for the whole server at most (429 above)")->capture_default_str();
  sub->add_option("--handshake-timeout", c.handshake_timeout, "Seconds a new connection has for its first byte, and then for the TLS handshake")->capture_default_str();
  sub->add_option("--request-timeout", c.request_timeout, "Seconds a client has to send a whole request (408 after)")->capture_default_str();
  sub->add_option("--write-timeout", c.write_timeout, "Seconds one write to a client may take (a client that stops reading is cut off)")->capture_default_str();
  sub->add_option("--stream-interval", c.stream_interval,
                  "Least seconds between two streamed pieces of a completion: text made sooner goes with the next piece; "
                  "the first piece always goes at once; 0: every token alone. Each piece wakes the connection process, which "
                  "takes CPU from an engine that uses every core (measured: about 0.4 ms of decode a piece on 2 cores, a local client included; docs/performance.md)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--keepalive-timeout", c.keepalive_timeout, "Seconds an idle connection stays open")->capture_default_str();
  sub->add_option("--idle-timeout", c.idle_timeout, "Seconds an idle worker lives (its user's next request starts a new one)")->capture_default_str();
  sub->add_flag("--exit-with-parent", o->exit_with_parent, "Stop (as on SIGTERM) when the process that started the server exits, however it ends");
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_serve(*o, ctx); }; });
}

}  // namespace cci::tools::run
