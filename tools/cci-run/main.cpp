// cci-run: inference inside the confidential VM: serve (attested TLS, one worker per user),
// generate, attest, cert, keys, and the TEE simulator (sim init).
#include "cli/tool.h"
#include "commands.h"

int main(int argc, char** argv) {
  using namespace cci;
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
    tools::run::add_generate(app, ctx, action);
    tools::run::add_serve(app, ctx, action);
    tools::run::add_serve_worker(app, ctx, action);
#endif
    tools::run::add_keys(app, ctx, action);
  };
  return cli::run_tool(argc, argv, spec);
}
