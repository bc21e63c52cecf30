#include "cli/tool.h"

#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <vector>

#include "base/file_io.h"
#include "cli/completion.h"
#include "cli/env.h"
#include "cli/version.h"
#include "crypto/ossl.h"

namespace cci::cli {
namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void on_sigint(int) {
  if (g_interrupted.exchange(true)) std::_Exit(to_int(ExitCode::kInterrupted));  // second ^C: leave now
}

bool stream_is_terminal(int fd) {
  const char* term = std::getenv("TERM");
  return ::isatty(fd) == 1 && (term == nullptr || std::string(term) != "dumb");
}

struct Alias {
  CLI::App* app;
  CLI::Option* canonical;
  CLI::Option* alias;
  std::string alias_name;
  bool required;
};
std::vector<Alias>& aliases() {
  static std::vector<Alias> v;
  return v;
}

}  // namespace

void note_alias(CLI::App* app, CLI::Option* canonical, CLI::Option* alias, const std::string& alias_name) {
  const bool required = canonical->get_required();
  canonical->required(false);
  aliases().push_back({app, canonical, alias, alias_name, required});
}

std::string version_string() {
  return std::string(CCI_VERSION) + " (git " + CCI_GIT_DESCRIBE + ", " + crypto::openssl_version() + ")";
}

void Context::info(const std::string& msg) const {
  if (opts_.quiet || opts_.json) return;
  std::cerr << msg << '\n';
}

void Context::verbose(const std::string& msg) const {
  if (opts_.quiet || opts_.verbose == 0) return;
  std::cerr << msg << '\n';
}

void Context::warn(const std::string& msg) const {
  if (opts_.quiet) return;
  std::cerr << "WARNING: " << msg << '\n';
}

void Context::error(const std::string& msg) const { std::cerr << tool_ << ": error: " << msg << '\n'; }

void Context::out(const std::string& line) const {
  if (opts_.quiet) return;
  (stdout_taken_ ? std::cerr : std::cout) << line << '\n';
}

Status Context::write_output(const std::string& path, ByteView data, unsigned mode) const {
  if (path != "-") return write_file_atomic(path, data, static_cast<mode_t>(mode));
  if (opts_.json) return make_error(ErrorCode::kUsage, "--json and an output of '-' would both write to standard output: name a file");
  std::cout.flush();
  for (size_t done = 0; done < data.size();) {
    const ssize_t n = ::write(STDOUT_FILENO, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return make_error(ErrorCode::kIo, "cannot write to standard output: " + errno_text(errno), "-");
    done += static_cast<size_t>(n);
  }
  stdout_taken_ = true;
  return {};
}

void Context::out_json(const std::string& schema, int exit_code, const Json& body) const {
  Json doc{{"schema", schema}, {"tool", tool_}, {"version", CCI_VERSION}, {"exit_code", exit_code}};
  for (auto it = body.begin(); it != body.end(); ++it) doc[it.key()] = it.value();
  if (!opts_.quiet) std::cout << doc.dump(2, ' ', false, Json::error_handler_t::replace) << '\n';
}

int Context::fail(const Error& e, const std::string& schema) const {
  int code = to_int(exit_code_for(e.code));
  error(e.message);
  if (opts_.json) {
    Json body{{"result", "error"}, {"reason", error_code_name(e.code)}, {"message", e.message}};
    if (!e.field.empty()) body["field"] = e.field;
    out_json(schema, code, body);
  }
  return code;
}

std::string Context::paint_ok(bool ok, bool for_stdout) const {
  std::string word = ok ? "PASS" : "FAIL";
  bool color = false;
  if (opts_.color == "always") {
    color = true;
  } else if (opts_.color == "auto") {
    color = !env_value("NO_COLOR") &&
            (env_value("CLICOLOR_FORCE").has_value() || stream_is_terminal(for_stdout ? 1 : 2));
  }
  if (!color) return word;
  return std::string(ok ? "\033[32m" : "\033[31m") + word + "\033[0m";
}

bool Context::progress_enabled() const {
  if (opts_.progress == "always") return true;
  if (opts_.progress == "never" || opts_.quiet || opts_.json) return false;
  return stream_is_terminal(2);
}

const std::atomic<bool>& Context::interrupted() const { return g_interrupted; }

int run_tool(int argc, char** argv, const ToolSpec& spec) {
  Context ctx(spec.name);
  std::function<int()> action;
  try {
    CLI::App app(spec.description, spec.name);
    app.footer(spec.footer);
    app.fallthrough();
    app.require_subcommand(0, 1);
    auto& o = ctx.options();
    app.set_version_flag("-V,--version", spec.name + " " + version_string(), "Print the version and exit");
    app.add_flag("--json", o.json, "Print one JSON document on stdout instead of text");
    app.add_flag("-q,--quiet", o.quiet, "Print nothing but errors; the exit code is the answer");
    app.add_flag("-v,--verbose", o.verbose, "Say more on stderr (repeatable)");
    app.add_option("--color", o.color, "Colour on terminals")
        ->check(CLI::IsMember({"auto", "always", "never"}))
        ->capture_default_str();
    o.progress = env_value("CCI_PROGRESS").value_or("auto");
    app.add_option("--progress", o.progress, "Progress bar on stderr (auto: only on a terminal) [env: CCI_PROGRESS]")
        ->check(CLI::IsMember({"auto", "always", "never"}))
        ->capture_default_str();
    spec.setup(app, ctx, action);
    auto shell = std::make_shared<std::string>();
    auto* completion = app.add_subcommand("completion", "Print a shell completion script (bash, zsh or fish)");
    auto completion_out = std::make_shared<std::string>("-");
    completion->add_option("shell", *shell, "bash, zsh or fish")->required()->check(CLI::IsMember({"bash", "zsh", "fish"}));
    completion->add_option("-o,--output", *completion_out, "Write the script to FILE (default -: standard output)");
    completion->footer("Examples:\n  source <(" + spec.name + " completion bash)                  # this shell only\n  " +
                       spec.name + " completion bash > ~/.local/share/bash-completion/completions/" + spec.name +
                       "\n  " + spec.name + " completion zsh > ~/.zfunc/_" + spec.name + "    # a folder in $fpath\n  " +
                       spec.name + " completion fish > ~/.config/fish/completions/" + spec.name +
                       ".fish\n`cmake --install` puts all three where the shells look.");
    completion->callback([&app, &ctx, &action, shell, completion_out, name = spec.name] {
      action = [&app, &ctx, shell, completion_out, name] {
        const std::string script = completion_script(app, name, *shell);
        if (auto st = ctx.write_output(*completion_out, as_bytes(script)); !st) {
          return ctx.fail(st.error(), "cci.completion.v1");
        }
        return to_int(ExitCode::kOk);
      };
    });
    try {
      app.parse(argc, argv);
      for (const auto& a : aliases()) {
        if (!a.app->parsed()) continue;
        const std::string name = a.canonical->get_name(false, true);
        if (a.required && a.canonical->count() == 0 && a.alias->count() == 0) throw CLI::RequiredError(name);
        if (a.canonical->count() > 0 && a.alias->count() > 0) {
          throw CLI::ValidationError(a.alias_name + " is the old name of " + name + ": give one of them");
        }
      }
    } catch (const CLI::CallForHelp& e) {
      return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
      return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
      return app.exit(e);
    } catch (const CLI::ParseError& e) {
      app.exit(e);
      return to_int(ExitCode::kUsage);
    }
    if (!action) {
      std::cerr << app.help();
      return to_int(ExitCode::kUsage);
    }
    std::signal(SIGINT, on_sigint);
    int rc = action();
    if (g_interrupted.load()) return to_int(ExitCode::kInterrupted);
    return rc;
  } catch (const std::exception& e) {
    ctx.error(std::string("internal error: ") + e.what());
    return to_int(ExitCode::kInternal);
  } catch (...) {
    ctx.error("internal error: unknown exception");
    return to_int(ExitCode::kInternal);
  }
}

}  // namespace cci::cli
