// Shell completion scripts (bash, zsh, fish) made from a tool's CLI11 tree, so they cannot lag
// the flags: `TOOL completion bash|zsh|fish` prints one, and the build installs them. Hidden
// subcommands and options (group "", e.g. the old flag names kept as aliases) are left out.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace cci::cli {

// The script for `shell` ("bash", "zsh" or "fish"); `tool` is the executable's name.
std::string completion_script(const CLI::App& app, const std::string& tool, const std::string& shell);

}  // namespace cci::cli
