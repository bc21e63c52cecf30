// cci-run: inference inside the confidential VM. Its subcommands (attest, serve) land with
// the evidence and serving milestones; until then it only answers --help and --version.
#include "cli/tool.h"

int main(int argc, char** argv) {
  using namespace cci;
  cli::ToolSpec spec;
  spec.name = "cci-run";
  spec.description =
      "Run LLM inference inside an SEV-SNP or Hygon CSV confidential VM: weights checked against the\n"
      "signed manifest, traffic over TLS bound to the hardware report, one isolated worker per user.\n"
      "This build has no subcommands yet (attest and serve are not implemented).";
  spec.footer =
      "Example (once serve lands):\n"
      "  cci-run serve --manifest deploy.sig --model ./tinyllama --listen 0.0.0.0:8443\n\n"
      "Exit status: 0 ok, 1 rejected, 2 usage, 3 cannot evaluate, 4 internal. See man cci-run.";
  spec.setup = [](CLI::App&, cli::Context&, std::function<int()>&) {};
  return cli::run_tool(argc, argv, spec);
}
