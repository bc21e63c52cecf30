// cci-run: inference inside the confidential VM: serve (attested TLS, one worker per user),
// generate, attest, cert, keys, and the TEE simulator (sim init).
//
// Built twice (tools/cci-run/CMakeLists.txt): cci-run-engine (CCI_RUN_ENGINE) has every command
// and links libtorch; cci-run has all but the engine's (generate, serve-worker) and links none,
// so its commands start without loading libtorch. For those two, and for `completion` (whose
// script must know generate's flags), cci-run executes cci-run-engine from its own folder in its
// own place: same process, same arguments, same descriptors.
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string_view>

#include "cli/tool.h"
#include "commands.h"
#if defined(CCI_WITH_TORCH) && !defined(CCI_RUN_ENGINE)
#include "serve/spawn.h"
#endif

namespace {

#if defined(CCI_WITH_TORCH) && !defined(CCI_RUN_ENGINE)
// The command word: the first argument that is neither an option nor a global option's value.
std::string_view command_word(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--color" || a == "--progress") {
      ++i;  // its value
      continue;
    }
    if (!a.empty() && a[0] == '-') continue;
    return a;
  }
  return {};
}

bool runs_in_engine(std::string_view command) { return command == "generate" || command == "serve-worker" || command == "completion"; }

[[noreturn]] void exec_engine(char** argv) {
  const std::string engine = cci::serve::own_executable_dir() + "/cci-run-engine";
  ::execv(engine.c_str(), argv);
  std::cerr << "cci-run: error: cannot run " << engine << " (generate and serve's workers live there): " << std::strerror(errno) << "\n";
  std::_Exit(3);
}
#endif

}  // namespace

int main(int argc, char** argv) {
  using namespace cci;
#if defined(CCI_WITH_TORCH) && !defined(CCI_RUN_ENGINE)
  if (runs_in_engine(command_word(argc, argv))) exec_engine(argv);
#endif
  cli::ToolSpec spec;
  spec.name = "cci-run";
  spec.description =
      "Run LLM inference inside an SEV-SNP or Hygon CSV confidential VM: weights checked against the\n"
      "signed manifest, traffic over TLS bound to the hardware report, one isolated worker per user.\n"
      "Evidence comes from configfs-tsm, /dev/sev-guest or /dev/csv-guest, or, by name only, from a\n"
      "simulated platform (cci-run sim init) for machines without SEV-SNP or CSV.";
  spec.footer =
      "Examples:\n"
      "  cci-run sim init ./sim --vendor amd\n"
      "  cci-run attest --tee sim-snp --sim-dir ./sim --nonce $NONCE --out evidence.json\n"
      "  cci-verify report evidence.json --trust-sim-root ./sim --nonce $NONCE\n"
      "  cci-run serve --model ./model --deployment cci-manifest.json --release-key release.pub --api-keys keys.txt\n\n"
      + cli::exit_status_help("cci-run");
  spec.setup = [](CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
    tools::run::add_sim(app, ctx, action);
    tools::run::add_attest(app, ctx, action);
    tools::run::add_cert(app, ctx, action);
#ifdef CCI_WITH_TORCH
#ifdef CCI_RUN_ENGINE
    tools::run::add_generate(app, ctx, action);
#else
    // Listed for --help; the command itself runs in cci-run-engine (above).
    app.add_subcommand("generate", "Generate text locally (no server): the embedded model, or a model directory");
#endif
    tools::run::add_serve(app, ctx, action);
#ifdef CCI_RUN_ENGINE
    tools::run::add_serve_worker(app, ctx, action);
#endif
#endif
    tools::run::add_keys(app, ctx, action);
  };
  return cli::run_tool(argc, argv, spec);
}
