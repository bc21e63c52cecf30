// Shared scaffold of the four executables: common flags, CLI11 parsing with usage errors
// mapped to exit 2, one exception barrier (exit 4), SIGINT (exit 130), stdout for the
// answer and stderr for the conversation.
#pragma once

#include <CLI/CLI.hpp>
#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "base/bytes.h"
#include "base/result.h"
#include "cli/exit_code.h"

namespace cci::cli {

using Json = nlohmann::ordered_json;

struct CommonOptions {
  bool json = false;
  bool quiet = false;
  int verbose = 0;
  std::string color = "auto";     // auto | always | never
  std::string progress = "auto";  // auto | always | never
};

class Context {
 public:
  explicit Context(std::string tool) : tool_(std::move(tool)) {}
  const std::string& tool() const { return tool_; }
  CommonOptions& options() { return opts_; }
  const CommonOptions& options() const { return opts_; }

  // Diagnostics on stderr (suppressed by -q; info also needs the human mode or -v).
  void info(const std::string& msg) const;
  void verbose(const std::string& msg) const;  // only with -v
  void warn(const std::string& msg) const;     // "WARNING: ..." even in --json mode, not with -q
  void error(const std::string& msg) const;    // "error: ..." always (-q keeps errors: they explain the exit code)

  // The answer on stdout: a line of text (human mode) ...
  void out(const std::string& line) const;
  // ... or one JSON document, which gets "schema", "tool", "version" and "exit_code" first.
  void out_json(const std::string& schema, int exit_code, const Json& body) const;

  // Writes a tool's output file atomically, or to standard output when `path` is "-". Once
  // standard output holds the data, out() lines go to stderr; --json with "-" is a usage error
  // (both would use standard output).
  Status write_output(const std::string& path, ByteView data, unsigned mode = 0644) const;

  // Reports `e` (human: "error: ..."; --json: a document with reason and message) and
  // returns the matching exit code.
  int fail(const Error& e, const std::string& schema) const;

  // "PASS"/"FAIL" words, coloured when the target stream is a colour terminal.
  std::string paint_ok(bool ok, bool for_stdout = true) const;

  bool progress_enabled() const;
  const std::atomic<bool>& interrupted() const;

 private:
  std::string tool_;
  CommonOptions opts_;
  mutable bool stdout_taken_ = false;  // an output was written to standard output
};

struct ToolSpec {
  std::string name;         // "cci-measure"
  std::string description;  // one paragraph for --help
  std::string footer;       // examples and environment
  // Registers subcommands; each subcommand's callback stores the action to run.
  std::function<void(CLI::App&, Context&, std::function<int()>& action)> setup;
};

int run_tool(int argc, char** argv, const ToolSpec& spec);

// An old spelling of `canonical` that keeps working (docs/cli-conventions.md): it sets the same
// variable, is hidden from --help and completion, and cannot be given together with the new
// name. A required option is satisfied by either spelling (run_tool checks both after parsing).
void note_alias(CLI::App* app, CLI::Option* canonical, CLI::Option* alias, const std::string& alias_name);
template <class T>
CLI::Option* add_alias(CLI::App* app, CLI::Option* canonical, const std::string& name, T& var) {
  CLI::Option* alias = app->add_option(name, var, "Old name of " + canonical->get_name(false, true));
  alias->group("");
  note_alias(app, canonical, alias, name);
  return alias;
}

std::string version_string();  // "0.1.0 (git abc123, OpenSSL 3.0.x)"

}  // namespace cci::cli
