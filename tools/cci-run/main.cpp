// cci-run: inference inside the confidential VM. This build has the TEE simulator (sim init)
// and simulated evidence (attest --tee sim-snp); hardware evidence and serve land later.
#include "cli/tool.h"
#include "commands.h"

int main(int argc, char** argv) {
  using namespace cci;
  cli::ToolSpec spec;
  spec.name = "cci-run";
  spec.description =
      "Run LLM inference inside an SEV-SNP or Hygon CSV confidential VM: weights checked against the\n"
      "signed manifest, traffic over TLS bound to the hardware report, one isolated worker per user.\n"
      "This build has a simulated SEV-SNP platform and its evidence (for machines without SEV-SNP);\n"
      "hardware evidence sources and serve are not implemented yet.";
  spec.footer =
      "Examples:\n"
      "  cci-run sim init ./sim --vendor amd\n"
      "  cci-run attest --tee sim-snp --sim-dir ./sim --nonce $NONCE --out evidence.json\n"
      "  cci-verify report evidence.json --trust-sim-root ./sim --nonce $NONCE\n\n"
      "Exit status: 0 ok, 1 rejected, 2 usage, 3 cannot evaluate, 4 internal. See man cci-run.";
  spec.setup = [](CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
    tools::run::add_sim(app, ctx, action);
    tools::run::add_attest(app, ctx, action);
    tools::run::add_cert(app, ctx, action);
#ifdef CCI_WITH_TORCH
    tools::run::add_generate(app, ctx, action);
#endif
  };
  return cli::run_tool(argc, argv, spec);
}
