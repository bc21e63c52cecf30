// cci-bench: measure what the secure path costs.
#include "cli/tool.h"
#include "commands.h"

int main(int argc, char** argv) {
  using namespace cci;
  cli::ToolSpec spec;
  spec.name = "cci-bench";
  spec.description =
      "Benchmarks for the cci suite: model hashing throughput against this machine's SHA-256 speed\n"
      "(hash), launch-digest time on realistic firmware/kernel/initrd sizes (image), report verification\n"
      "(verify), inference speed against this machine's bandwidth and matmul rate (infer), and many users\n"
      "against a live cci-run serve endpoint (load); the cost of the secure path against plain inference\n"
      "(overhead) and of adding isolated users (users).";
  spec.footer =
      "Examples:\n"
      "  cci-bench hash                       # 4 x 512 MiB + 2000 small files, table on stdout\n"
      "  cci-bench hash --json --repeat 5     # machine-readable figures\n"
      "  cci-bench image                      # cci-measure image: 2 MiB firmware, 70 MB kernel, 100 MB initrd\n"
      "  cci-bench overhead --shape 110M --threads 2 --plot overhead.svg\n"
      "  cci-bench users --users 1,2,4,8 --plot users.svg\n"
      "  cci-bench load https://127.0.0.1:8443 --pin sha256//... --keys keys.txt --users 8 --requests 50\n\n"
      + cli::exit_status_help("cci-bench", {{0, "ran (with --check: and met its goals)"}, {1, "goals missed with --check"}});
  spec.setup = [](CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
    tools::bench::add_hash(app, ctx, action);
    tools::bench::add_image(app, ctx, action);
    tools::bench::add_verify(app, ctx, action);
    tools::bench::add_load(app, ctx, action);
    tools::bench::add_seal(app, ctx, action);
#ifdef CCI_WITH_TORCH
    tools::bench::add_infer(app, ctx, action);
    tools::bench::add_overhead(app, ctx, action);
    tools::bench::add_users(app, ctx, action);
#endif
  };
  return cli::run_tool(argc, argv, spec);
}
