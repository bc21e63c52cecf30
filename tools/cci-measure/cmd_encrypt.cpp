// cci-measure encrypt / decrypt: a model directory to the encrypted model format and back
// (common/sealed, docs/encrypted-model.md). The data-encryption key (DEK) is 32 raw bytes in a
// file of mode 0600; it is never printed or logged.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>

#include "base/file_io.h"
#include "base/hex.h"
#include "base/unique_fd.h"
#include "cli/env.h"
#include "cli/progress.h"
#include "commands.h"
#include "crypto/random.h"
#include "manifest/file_tree.h"
#include "manifest/encrypted_model.h"
#include "sealed/key_file.h"

namespace cci::tools::measure {
namespace {
namespace fs = std::filesystem;

struct EncryptCli {
  std::string dir, output, key_id, dek, dek_out;
  std::uint32_t chunk_size = sealed::kDefaultChunkSize;
  std::vector<std::string> ignore;
  unsigned threads = 0;
};

struct DecryptCli {
  std::string dir, output, dek;
  unsigned threads = 0;
};

// The DEK from a file (or "-": standard input): exactly 32 bytes; a file others can read is named in a warning.
Result<crypto::Aes256Gcm> read_dek(const std::string& path, const cli::Context& ctx) {
  CCI_ASSIGN(secret, sealed::read_key_file(path, "dek", [&ctx](const std::string& m) { ctx.warn(m); }));
  return crypto::Aes256Gcm::create(secret.view());
}

// A fresh DEK into a new file of mode 0600 (never over an existing one).
Result<crypto::Aes256Gcm> new_dek(const std::string& path) {
  CCI_ASSIGN(raw, crypto::random_bytes(crypto::kAeadKeyBytes));
  crypto::SecretBytes secret(std::move(raw));
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) {
    return make_error(ErrorCode::kIo, "cannot create the key file " + path + ": " + errno_text(errno) +
                                          (errno == EEXIST ? " (give it with --dek to reuse it, or name another --dek-out)" : ""),
                      "dek-out");
  }
  if (::write(fd.get(), secret.view().data(), secret.size()) != static_cast<ssize_t>(secret.size()) || ::fsync(fd.get()) != 0) {
    ::unlink(path.c_str());
    return make_error(ErrorCode::kIo, "cannot write the key file " + path + ": " + errno_text(errno), "dek-out");
  }
  return crypto::Aes256Gcm::create(secret.view());
}

cli::Json files_json(const manifest::SealedModel& m) {
  cli::Json files = cli::Json::array();
  for (const auto& f : m.files) {
    cli::Json j{{"name", f.name}, {"plaintext_size", f.plaintext_size}, {"sealed_size", f.sealed_size}};
    if (!f.sealed_sha256.empty()) j["sealed_sha256"] = to_hex(f.sealed_sha256);
    files.push_back(std::move(j));
  }
  return files;
}

int run_encrypt(const EncryptCli& o, const cli::Context& ctx) {
  const std::string schema = "cci.measure.encrypt.v1";
  if (!fs::exists(o.dir)) return ctx.fail(make_error(ErrorCode::kIo, "model path " + o.dir + " does not exist"), schema);
  if (!o.dek.empty() && !o.dek_out.empty()) return ctx.fail(make_error(ErrorCode::kUsage, "give --dek (an existing key) or --dek-out (a new one), not both"), schema);
  if (o.output == "-") return ctx.fail(make_error(ErrorCode::kUsage, "-o names a new directory (an encrypted model is many files): standard output cannot hold it"), schema);
  if (o.dek_out == "-") return ctx.fail(make_error(ErrorCode::kUsage, "--dek-out -: a new key goes only to a file of mode 0600, never to standard output"), schema);
  std::vector<std::string> ignore;
  for (const auto& p : o.ignore) {
    auto n = manifest::normalize_ignore_path(o.dir, p);
    if (!n) return ctx.fail(n.error(), schema);
    ignore.push_back(*n);
  }
  // The output may not lie inside the model (it would be encrypted into itself next time).
  if (manifest::normalize_ignore_path(o.dir, fs::absolute(o.output).string())) {
    return ctx.fail(make_error(ErrorCode::kUsage, "the output directory " + o.output + " lies inside the model directory: write it elsewhere"), schema);
  }
  sealed::Header probe;
  probe.chunk_size = o.chunk_size;
  probe.key_id = o.key_id;
  probe.name = "x";
  if (auto st = sealed::check_header(probe); !st) return ctx.fail(make_error(ErrorCode::kUsage, st.error().message, st.error().field), schema);
  const std::string dek_out = o.dek.empty() ? (o.dek_out.empty() ? fs::path(o.output).lexically_normal().string() + ".dek" : o.dek_out) : "";
  if (!dek_out.empty() && fs::exists(dek_out)) {
    return ctx.fail(make_error(ErrorCode::kUsage, dek_out + " already exists: give it with --dek to encrypt under that key, or name a new --dek-out"), schema);
  }
  if (fs::exists(fs::symlink_status(o.output))) return ctx.fail(make_error(ErrorCode::kUsage, o.output + " already exists: name a new directory"), schema);
  auto key = o.dek.empty() ? new_dek(dek_out) : read_dek(o.dek, ctx);
  if (!key) return ctx.fail(key.error(), schema);

  auto files = manifest::list_model_files(o.dir, {manifest::default_git_ignores(), false});
  std::uint64_t total = 0;
  if (files) for (const auto& f : *files) total += f.size;
  // Hashing (for the model digest) and then encrypting: two passes over the bytes.
  cli::Progress progress(ctx.progress_enabled(), "encrypting", total);
  manifest::EncryptOptions eo;
  eo.model_dir = o.dir;
  eo.out_dir = o.output;
  eo.key_id = o.key_id;
  eo.chunk_size = o.chunk_size;
  eo.ignore = ignore;
  eo.work.threads = o.threads;
  eo.work.cancel = &ctx.interrupted();
  eo.work.on_bytes = [&progress](std::uint64_t n) { progress.add(n); };
  const auto t0 = std::chrono::steady_clock::now();
  auto m = manifest::encrypt_model(eo, *key);
  progress.finish();
  if (!m) {
    if (!dek_out.empty()) ::unlink(dek_out.c_str());  // a key for nothing
    return ctx.fail(m.error(), schema);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (ctx.options().json) {
    cli::Json body{{"result", "ok"},
                   {"model", o.dir},
                   {"output", o.output},
                   {"key_id", o.key_id},
                   {"dek", o.dek.empty() ? dek_out : o.dek},
                   {"dek_created", o.dek.empty()},
                   {"chunk_size", o.chunk_size},
                   {"model_digest", {{"sha256", to_hex(m->model_digest)}}},
                   {"bytes", m->plaintext_bytes},
                   {"seconds", secs},
                   {"files", files_json(*m)}};
    ctx.out_json(schema, 0, body);
    return 0;
  }
  ctx.out("encrypted " + o.dir + " (" + std::to_string(m->files.size()) + " files, " + cli::human_bytes(double(m->plaintext_bytes)) +
          ", model sha256:" + to_hex(m->model_digest) + ") into " + o.output);
  ctx.out(std::string("key id ") + o.key_id + "; index " + (fs::path(o.output) / sealed::kIndexName).string());
  if (o.dek.empty()) ctx.out("wrote a new model key to " + dek_out + " (mode 0600): keep it secret, and give it to the key service");
  return 0;
}

int run_decrypt(const DecryptCli& o, const cli::Context& ctx) {
  const std::string schema = "cci.measure.decrypt.v1";
  if (o.output == "-") return ctx.fail(make_error(ErrorCode::kUsage, "-o names a new directory (a model is many files): standard output cannot hold it"), schema);
  if (fs::exists(fs::symlink_status(o.output))) return ctx.fail(make_error(ErrorCode::kUsage, o.output + " already exists: name a new directory"), schema);
  auto key = read_dek(o.dek, ctx);
  if (!key) return ctx.fail(key.error(), schema);
  manifest::DecryptOptions d;
  d.enc_dir = o.dir;
  d.out_dir = o.output;
  d.work.threads = o.threads;
  d.work.cancel = &ctx.interrupted();
  cli::Progress progress(ctx.progress_enabled(), "decrypting", 0);
  d.work.on_bytes = [&progress](std::uint64_t n) { progress.add(n); };
  const auto t0 = std::chrono::steady_clock::now();
  auto m = manifest::decrypt_model(d, *key);
  progress.finish();
  if (!m) return ctx.fail(m.error(), schema);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (ctx.options().json) {
    ctx.out_json(schema, 0,
                 cli::Json{{"result", "ok"},
                           {"input", o.dir},
                           {"output", o.output},
                           {"key_id", m->key_id},
                           {"model_digest", {{"sha256", to_hex(m->model_digest)}}},
                           {"bytes", m->plaintext_bytes},
                           {"seconds", secs},
                           {"files", files_json(*m)}});
    return 0;
  }
  ctx.out("decrypted " + o.dir + " (" + std::to_string(m->files.size()) + " files, " + cli::human_bytes(double(m->plaintext_bytes)) +
          ", every chunk authenticated, model sha256:" + to_hex(m->model_digest) + ") into " + o.output + " (mode 0700)");
  return 0;
}

}  // namespace

void add_encrypt(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<EncryptCli>();
  o->threads = cli::env_threads();
  auto* sub = app.add_subcommand("encrypt", "Encrypt a model directory (chunked AES-256-GCM) for serving sealed");
  sub->footer(
      "Every file becomes a CCI-ENC1 file at the same path (docs/encrypted-model.md); the index\n"
      "cci-encryption.json lists the sealed files' SHA-256 digests. Sign the plaintext first: the\n"
      "OMS bundle (cci-measure model) keeps covering the plaintext, checked again after decryption.\n"
      "Examples:\n"
      "  cci-measure encrypt ./llama -o ./llama.enc --key-id kbs:///default/llama/dek   # new key: ./llama.enc.dek\n"
      "  cci-measure encrypt ./llama -o ./llama.enc --key-id file:///keys/dek.bin --dek dek.bin\n"
      "  cci-measure decrypt ./llama.enc -o ./llama.plain --dek ./llama.enc.dek");
  sub->add_option("DIR", o->dir, "Model directory (plaintext)")->required();
  sub->add_option("-o,--output", o->output, "New directory for the encrypted model (must not exist)")->required();
  sub->add_option("--key-id", o->key_id, "Where the server will get the key: a URI (kbs://..., cdh://..., file://...)")->required();
  sub->add_option("--dek", o->dek, "Encrypt under this existing key (32 raw bytes; - for standard input)");
  sub->add_option("--dek-out", o->dek_out, "Write the new key here (mode 0600; default: OUTPUT.dek)");
  sub->add_option("--chunk-size", o->chunk_size, "Bytes per sealed chunk: a power of two, 4096 to 67108864")->capture_default_str();
  sub->add_option("--ignore", o->ignore, "Path to leave out, relative to DIR (repeatable)");
  sub->add_option("-j,--threads", o->threads, "Threads (default: all CPUs) [env: CCI_THREADS]");
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_encrypt(*o, ctx); }; });

  auto d = std::make_shared<DecryptCli>();
  d->threads = cli::env_threads();
  auto* dec = app.add_subcommand("decrypt", "Decrypt an encrypted model directory (the owner's copy), checking every chunk");
  dec->footer(
      "Every chunk's tag, every file's name and the whole model's digest are checked; on any failure\n"
      "nothing is left behind. Example:\n"
      "  cci-measure decrypt ./llama.enc -o ./llama.plain --dek ./llama.enc.dek");
  dec->add_option("DIR", d->dir, "Encrypted model directory")->required();
  dec->add_option("-o,--output", d->output, "New directory for the plaintext (must not exist; mode 0700)")->required();
  dec->add_option("--dek", d->dek, "The model key (32 raw bytes; - for standard input)")->required();
  dec->add_option("-j,--threads", d->threads, "Threads (default: all CPUs) [env: CCI_THREADS]");
  dec->callback([d, &ctx, &action] { action = [d, &ctx] { return run_decrypt(*d, ctx); }; });
}

}  // namespace cci::tools::measure
