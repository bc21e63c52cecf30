#pragma once

#include <functional>

#include "attest/evidence_source.h"
#include "cli/tool.h"

namespace cci::tools::run {

void add_sim(CLI::App& app, cli::Context& ctx, std::function<int()>& action);
void add_attest(CLI::App& app, cli::Context& ctx, std::function<int()>& action);
void add_cert(CLI::App& app, cli::Context& ctx, std::function<int()>& action);
void add_keys(CLI::App& app, cli::Context& ctx, std::function<int()>& action);
void add_serve(CLI::App& app, cli::Context& ctx, std::function<int()>& action);        // CCI_WITH_TORCH builds
void add_serve_worker(CLI::App& app, cli::Context& ctx, std::function<int()>& action); // CCI_WITH_TORCH builds
void add_generate(CLI::App& app, cli::Context& ctx, std::function<int()>& action);  // CCI_WITH_TORCH builds

// --tee, --sim-dir, --tsm-root, --sev-guest, --csv-guest into `so` (attest, cert).
void add_evidence_source_flags(CLI::App* sub, attest::SourceOptions& so);
// The source `so` names; a simulator is announced on stderr as proving nothing.
Result<std::unique_ptr<attest::EvidenceSource>> open_evidence_source(const attest::SourceOptions& so, const cli::Context& ctx);

}  // namespace cci::tools::run
