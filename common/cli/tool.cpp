#include "cli/tool.h"

#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>

#include "base/file_io.h"
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

}  // namespace

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
    try {
      app.parse(argc, argv);
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
