// cci-verify: check signed model manifests and (later) TEE attestation reports.
#include "cli/tool.h"
#include "commands.h"

int main(int argc, char** argv) {
  using namespace cci;
  cli::ToolSpec spec;
  spec.name = "cci-verify";
  spec.description =
      "Verify what a confidential inference deployment claims: signed model manifests (OMS bundles),\n"
      "signed deployment manifests, SEV / SEV-ES launch measurements; SEV-SNP and Hygon CSV\n"
      "attestation reports as they land.";
  spec.footer =
      "Examples:\n"
      "  cci-verify model ./llama-7b --signature llama-7b.sig --release-key release.pub\n"
      "  cci-verify model ./llama-7b --signature model.sig --certificate-chain ca.pem --json\n"
      "  cci-verify manifest cci-manifest.json --release-key release.pub\n"
      "  cci-verify fetch report.bin && cci-verify report report.bin --offline\n"
      "  cci-verify report report.bin --vek vcek.der --cert-chain ask_ark_milan.pem --crl milan.crl\n"
      "  cci-verify launch-measure --blob BASE64 --tik tik.bin --api-major 0 --api-minor 24 --build 15 \\\n"
      "      --deployment cci-manifest.json --release-key release.pub\n\n"
      + cli::exit_status_help("cci-verify");
  spec.setup = [](CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
    tools::verify::add_model(app, ctx, action);
    tools::verify::add_manifest(app, ctx, action);
    tools::verify::add_blob(app, ctx, action);
    tools::verify::add_launch_measure(app, ctx, action);
    tools::verify::add_report(app, ctx, action);
    tools::verify::add_fetch(app, ctx, action);
    tools::verify::add_cert(app, ctx, action);
    tools::verify::add_remote(app, ctx, action);
  };
  return cli::run_tool(argc, argv, spec);
}
