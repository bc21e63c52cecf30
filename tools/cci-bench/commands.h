#pragma once

#include <functional>

#include "cli/tool.h"

namespace cci::tools::bench {

void add_hash(CLI::App& app, cli::Context& ctx, std::function<int()>& action);
void add_image(CLI::App& app, cli::Context& ctx, std::function<int()>& action);
void add_verify(CLI::App& app, cli::Context& ctx, std::function<int()>& action);
void add_overhead(CLI::App& app, cli::Context& ctx, std::function<int()>& action);  // CCI_WITH_TORCH builds
void add_users(CLI::App& app, cli::Context& ctx, std::function<int()>& action);     // CCI_WITH_TORCH builds
void add_load(CLI::App& app, cli::Context& ctx, std::function<int()>& action);
void add_seal(CLI::App& app, cli::Context& ctx, std::function<int()>& action);
void add_infer(CLI::App& app, cli::Context& ctx, std::function<int()>& action);  // CCI_WITH_TORCH builds

}  // namespace cci::tools::bench
