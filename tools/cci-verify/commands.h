#pragma once

#include <functional>

#include "cli/tool.h"

namespace cci::tools::verify {

void add_model(CLI::App& app, cli::Context& ctx, std::function<int()>& action);
void add_manifest(CLI::App& app, cli::Context& ctx, std::function<int()>& action);
void add_blob(CLI::App& app, cli::Context& ctx, std::function<int()>& action);
void add_launch_measure(CLI::App& app, cli::Context& ctx, std::function<int()>& action);
void add_fetch(CLI::App& app, cli::Context& ctx, std::function<int()>& action);
void add_report(CLI::App& app, cli::Context& ctx, std::function<int()>& action);
void add_cert(CLI::App& app, cli::Context& ctx, std::function<int()>& action);
void add_remote(CLI::App& app, cli::Context& ctx, std::function<int()>& action);

}  // namespace cci::tools::verify
