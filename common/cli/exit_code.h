// The exit code is the API. The table is written once, here (kExitCodes): the tools' --help
// lines are made from it, and docs/man/common/exit-status.md is its rendering (a test compares
// the file with exit_status_markdown() byte for byte).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "base/result.h"

namespace cci::cli {

enum class ExitCode : int {
  kOk = 0,              // verified / measured / signed
  kRejected = 1,        // evidence read and rejected: bad signature, mismatch, malformed evidence
  kUsage = 2,           // bad flags or flag values
  kCannotEvaluate = 3,  // I/O, missing or unusable input, missing collateral, no device
  kInternal = 4,        // a bug
  kInterrupted = 130,   // SIGINT
};

constexpr int to_int(ExitCode c) { return static_cast<int>(c); }

struct ExitCodeRow {
  ExitCode code;
  const char* name;     // short, for --help
  const char* meaning;  // for the manual
};

inline constexpr ExitCodeRow kExitCodes[] = {
    {ExitCode::kOk, "ok", "success: verified, measured or signed"},
    {ExitCode::kRejected, "rejected",
     "rejected: the input was read and does not verify (bad signature, digest mismatch, malformed bundle or evidence, "
     "policy violation)"},
    {ExitCode::kUsage, "usage", "usage: bad flags or flag values"},
    {ExitCode::kCannotEvaluate, "cannot evaluate",
     "cannot evaluate: I/O error, missing or unusable input (unreadable file, refused symlink, encrypted key without "
     "passphrase), missing collateral, no device"},
    {ExitCode::kInternal, "internal", "internal error (a bug)"},
    {ExitCode::kInterrupted, "interrupted", "interrupted (SIGINT)"},
};

// The --help line, e.g. "Exit status: 0 ok, 1 rejected, ... See man cci-verify." A tool whose
// codes mean something narrower names it in `own` (code, words), e.g. {1, "goals missed with --check"}.
inline std::string exit_status_help(const std::string& tool, const std::vector<std::pair<int, std::string>>& own = {}) {
  std::string s = "Exit status:";
  const char* sep = " ";
  for (const auto& row : kExitCodes) {
    std::string words = row.name;
    for (const auto& [code, w] : own) {
      if (code == to_int(row.code)) words = w;
    }
    s += sep + std::to_string(to_int(row.code)) + " " + words;
    sep = ", ";
  }
  return s + ". See man " + tool + ".";
}

// docs/man/common/exit-status.md, exactly.
inline std::string exit_status_markdown() {
  std::string s = "# EXIT STATUS\n\n<!-- Generated from kExitCodes in common/cli/exit_code.h; a unit test keeps them equal. -->\n\n"
                  "| code | meaning |\n|---|---|\n";
  for (const auto& row : kExitCodes) s += "| " + std::to_string(to_int(row.code)) + " | " + row.meaning + " |\n";
  return s;
}

constexpr ExitCode exit_code_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::kMalformed:
    case ErrorCode::kVerificationFailed: return ExitCode::kRejected;
    case ErrorCode::kUsage: return ExitCode::kUsage;
    case ErrorCode::kIo:
    case ErrorCode::kInvalidInput:
    case ErrorCode::kUnsupported: return ExitCode::kCannotEvaluate;
    case ErrorCode::kInternal: return ExitCode::kInternal;
  }
  return ExitCode::kInternal;
}

}  // namespace cci::cli
