// cci-measure keygen: a signing key pair as PEM files.
#include <sys/stat.h>

#include <filesystem>
#include <memory>

#include "base/file_io.h"
#include "cli/inputs.h"
#include "commands.h"
#include "crypto/keys.h"
#include "manifest/oms.h"

namespace cci::tools::measure {
namespace {

struct KeygenOptions {
  std::string type = "ecdsa-p384";
  std::string private_key = "cci-signing.key";
  std::string public_key;  // default: <private_key without .key>.pub
  std::string pass_file;
  bool encrypt = false;
  bool force = false;
};

std::string default_public_path(const std::string& priv) {
  std::filesystem::path p(priv);
  if (p.extension() == ".key" || p.extension() == ".pem") p.replace_extension();
  return p.string() + ".pub";
}

int run_keygen(const KeygenOptions& o, const cli::Context& ctx) {
  const std::string schema = "cci.measure.keygen.v1";
  auto type = crypto::key_type_from_name(o.type);
  std::string pub_path = o.public_key.empty() ? default_public_path(o.private_key) : o.public_key;
  if (!o.force) {
    for (const auto& p : {o.private_key, pub_path}) {
      if (std::filesystem::exists(p)) {
        return ctx.fail(make_error(ErrorCode::kUsage, p + " already exists (use --force to replace it)"), schema);
      }
    }
  }
  std::optional<std::string> pass;
  if (o.encrypt || !o.pass_file.empty()) {
    auto p = cli::read_passphrase(o.pass_file);
    if (!p) return ctx.fail(p.error(), schema);
    if (!p->has_value() || (*p)->empty()) {
      return ctx.fail(make_error(ErrorCode::kUsage, "--encrypt needs a passphrase: --key-pass-file FILE or CCI_KEY_PASSWORD"),
                      schema);
    }
    pass = std::move(*p);
  }
  auto key = crypto::generate_key(*type);
  if (!key) return ctx.fail(key.error(), schema);
  auto priv_pem = key->pem(pass);
  if (pass) crypto::secure_clear(pass->data(), pass->size());
  if (!priv_pem) return ctx.fail(priv_pem.error(), schema);
  std::string pub_pem = key->public_key().pem();
  auto s = write_file_atomic(o.private_key, as_bytes(*priv_pem), 0600);
  crypto::secure_clear(priv_pem->data(), priv_pem->size());
  if (!s) return ctx.fail(s.error(), schema);
  s = write_file_atomic(pub_path, as_bytes(pub_pem), 0644);
  if (!s) return ctx.fail(s.error(), schema);
  std::string hint = manifest::oms::public_key_hint(pub_pem);
  if (ctx.options().json) {
    ctx.out_json(schema, 0,
                 cli::Json{{"result", "ok"}, {"type", o.type}, {"private_key", o.private_key}, {"public_key", pub_path},
                           {"encrypted", pass.has_value()}, {"public_key_hint", hint}});
  } else {
    ctx.info("generated " + o.type + " key pair" + (pass ? " (private key encrypted)" : ""));
    ctx.out("private key: " + o.private_key + " (mode 0600)");
    ctx.out("public key:  " + pub_path);
    ctx.out("key hint:    " + hint);
  }
  return 0;
}

}  // namespace

void add_keygen(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<KeygenOptions>();
  auto* sub = app.add_subcommand("keygen", "Generate a signing key pair (PEM; private key mode 0600, written atomically)");
  sub->footer(
      "Examples:\n"
      "  cci-measure keygen                                   # ecdsa-p384 into cci-signing.key / .pub\n"
      "  cci-measure keygen --type sm2 --private-key csv.key  # SM2 (for Hygon deployments)\n"
      "  CCI_KEY_PASSWORD=... cci-measure keygen --encrypt    # PKCS#8 encrypted with AES-256-CBC\n"
      "OMS model bundles need an ECDSA key (ecdsa-p256 or ecdsa-p384).");
  sub->add_option("-t,--type", o->type, "Key type")
      ->check(CLI::IsMember({"ecdsa-p256", "ecdsa-p384", "sm2", "ed25519"}))
      ->capture_default_str();
  sub->add_option("--private-key", o->private_key, "Private key output (PKCS#8 PEM)")->capture_default_str();
  sub->add_option("--public-key", o->public_key, "Public key output (default: private key path with .pub)");
  sub->add_flag("--encrypt", o->encrypt, "Encrypt the private key with a passphrase (CCI_KEY_PASSWORD or --key-pass-file)");
  sub->add_option("--key-pass-file", o->pass_file, "Read the passphrase from the first line of FILE (implies --encrypt)");
  sub->add_flag("-f,--force", o->force, "Replace existing key files");
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_keygen(*o, ctx); }; });
}

}  // namespace cci::tools::measure
