#pragma once

#include <functional>

#include "cli/tool.h"

namespace cci::tools::measure {

void add_keygen(CLI::App& app, cli::Context& ctx, std::function<int()>& action);
void add_model(CLI::App& app, cli::Context& ctx, std::function<int()>& action);
void add_image(CLI::App& app, cli::Context& ctx, std::function<int()>& action);
void add_verity(CLI::App& app, cli::Context& ctx, std::function<int()>& action);
void add_manifest(CLI::App& app, cli::Context& ctx, std::function<int()>& action);
void add_encrypt(CLI::App& app, cli::Context& ctx, std::function<int()>& action);  // encrypt and decrypt
void add_kbs_artifacts(CLI::App& app, cli::Context& ctx, std::function<int()>& action);
void add_k8s(CLI::App& app, cli::Context& ctx, std::function<int()>& action);

}  // namespace cci::tools::measure
