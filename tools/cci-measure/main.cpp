// cci-measure: hash model weights and VM images into signed manifests.
#include "cli/env.h"
#include "cli/tool.h"
#include "commands.h"

int main(int argc, char** argv) {
  using namespace cci;
  cli::ToolSpec spec;
  spec.name = "cci-measure";
  spec.description =
      "Hash model weights and VM image files into signed manifests for confidential inference.\n"
      "Model signatures are OpenSSF Model Signing (OMS) bundles, verifiable by cci-verify and by\n"
      "sigstore model-transparency (model_signing verify key|certificate).";
  spec.footer =
      "Examples:\n"
      "  cci-measure keygen --private-key release.key --public-key release.pub\n"
      "  cci-measure model ./llama-7b --key release.key --output llama-7b.sig\n"
      "  cci-measure model ./llama-7b --print-digest\n"
      "  cci-measure image --mode snp --vcpus 4 --vcpu-type EPYC-Milan --ovmf OVMF.amdsev.fd --kernel vmlinuz\n"
      "  cci-measure verity model.img --salt - \n"
      "  cci-measure manifest build cci.yaml --key release.key\n\n" +
      cli::env_help({"CCI_KEY_PASSWORD", "CCI_PKCS11_MODULE", "CCI_PKCS11_PIN", "CCI_THREADS", "CCI_PROGRESS", "NO_COLOR"}) +
      "\n" + cli::exit_status_help("cci-measure");
  spec.setup = [](CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
    tools::measure::add_keygen(app, ctx, action);
    tools::measure::add_model(app, ctx, action);
    tools::measure::add_image(app, ctx, action);
    tools::measure::add_verity(app, ctx, action);
    tools::measure::add_manifest(app, ctx, action);
    tools::measure::add_encrypt(app, ctx, action);
    tools::measure::add_kbs_artifacts(app, ctx, action);
    tools::measure::add_k8s(app, ctx, action);
  };
  return cli::run_tool(argc, argv, spec);
}
