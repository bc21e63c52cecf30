#pragma once

#include <functional>

#include "cli/tool.h"

namespace cci::tools::run {

void add_sim(CLI::App& app, cli::Context& ctx, std::function<int()>& action);
void add_attest(CLI::App& app, cli::Context& ctx, std::function<int()>& action);
void add_cert(CLI::App& app, cli::Context& ctx, std::function<int()>& action);
void add_generate(CLI::App& app, cli::Context& ctx, std::function<int()>& action);  // CCI_WITH_TORCH builds

}  // namespace cci::tools::run
