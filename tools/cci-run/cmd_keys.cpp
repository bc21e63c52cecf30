// cci-run keys: the API key file of cci-run serve. `add` makes a random key for a new user,
// prints it once and stores only its SHA-256; `revoke` removes a user (a running server
// re-reads the file and ends that user's connections and worker at once); `list` shows the users.
#include <filesystem>
#include <memory>

#include "base/file_io.h"
#include "commands.h"
#include "serve/api_keys.h"

namespace cci::tools::run {
namespace {

struct KeysCliOptions {
  std::string file, user;
};

int run_keys_add(const KeysCliOptions& o, const cli::Context& ctx) {
  const std::string schema = "cci.run.keys.v1";
  serve::ApiKeys keys;
  if (std::filesystem::exists(o.file)) {
    auto loaded = serve::ApiKeys::load(o.file);
    if (!loaded) return ctx.fail(loaded.error(), schema);
    keys = std::move(*loaded);
  }
  auto key = keys.add_user(o.user);
  if (!key) return ctx.fail(key.error(), schema);
  const std::string text = keys.serialize();
  if (auto st = write_file_atomic(o.file, as_bytes(text), 0600); !st) return ctx.fail(st.error(), schema);
  if (ctx.options().json) {
    ctx.out_json(schema, 0, cli::Json{{"result", "ok"}, {"user", o.user}, {"key", std::string(key->data(), key->size())}, {"file", o.file}});
  } else {
    ctx.out(std::string(key->data(), key->size()));
    ctx.info("added user " + o.user + " to " + o.file + "; the key above is shown only now (the file keeps its SHA-256)");
  }
  wipe(*key);
  return 0;
}

int run_keys_revoke(const KeysCliOptions& o, const cli::Context& ctx) {
  const std::string schema = "cci.run.keys.v1";
  auto keys = serve::ApiKeys::load(o.file);
  if (!keys) return ctx.fail(keys.error(), schema);
  if (auto st = keys->remove_user(o.user); !st) return ctx.fail(st.error(), schema);
  const std::string text = keys->serialize();
  if (auto st = write_file_atomic(o.file, as_bytes(text), 0600); !st) return ctx.fail(st.error(), schema);
  if (ctx.options().json) {
    ctx.out_json(schema, 0, cli::Json{{"result", "ok"}, {"revoked", o.user}, {"file", o.file}});
  } else {
    ctx.info("revoked " + o.user + " in " + o.file + "; a running cci-run serve ends their connections and worker within a second");
  }
  return 0;
}

int run_keys_list(const KeysCliOptions& o, const cli::Context& ctx) {
  const std::string schema = "cci.run.keys.v1";
  auto keys = serve::ApiKeys::load(o.file);
  if (!keys) return ctx.fail(keys.error(), schema);
  cli::Json users = cli::Json::array();
  for (const auto& e : keys->entries()) users.push_back(e.user);
  if (ctx.options().json) {
    ctx.out_json(schema, 0, cli::Json{{"result", "ok"}, {"users", users}});
  } else {
    for (const auto& e : keys->entries()) ctx.out(e.user);
  }
  return 0;
}

}  // namespace

void add_keys(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<KeysCliOptions>();
  auto* keys = app.add_subcommand("keys", "Manage cci-run serve's API key file (hashes only)");
  keys->require_subcommand(1);
  auto* add = keys->add_subcommand("add", "Make a key for a new user: printed once, only its SHA-256 is stored");
  add->footer("Example:\n  KEY=$(cci-run keys add --file api-keys.txt --user alice)");
  add->add_option("--file", o->file, "API key file (created with mode 0600 if missing)")->required();
  add->add_option("--user", o->user, "User id: 1-64 of [A-Za-z0-9._-]")->required();
  add->callback([o, &ctx, &action] { action = [o, &ctx] { return run_keys_add(*o, ctx); }; });
  auto* revoke = keys->add_subcommand("revoke", "Remove a user's key; a running server ends their connections and worker at once");
  revoke->footer("Example:\n  cci-run keys revoke --file api-keys.txt --user alice");
  revoke->add_option("--file", o->file, "API key file")->required();
  revoke->add_option("--user", o->user, "The user to remove")->required();
  revoke->callback([o, &ctx, &action] { action = [o, &ctx] { return run_keys_revoke(*o, ctx); }; });
  auto* list = keys->add_subcommand("list", "List the users in a key file");
  list->add_option("--file", o->file, "API key file")->required();
  list->callback([o, &ctx, &action] { action = [o, &ctx] { return run_keys_list(*o, ctx); }; });
}

}  // namespace cci::tools::run
