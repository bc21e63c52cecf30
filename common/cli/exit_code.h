// The exit code is the API (docs/exit-codes.md mirrors this table; a test checks it).
#pragma once

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
