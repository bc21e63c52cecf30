#include "base/result.h"

namespace cci {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kMalformed: return "MALFORMED";
    case ErrorCode::kVerificationFailed: return "VERIFICATION_FAILED";
    case ErrorCode::kUsage: return "USAGE";
    case ErrorCode::kIo: return "IO";
    case ErrorCode::kInvalidInput: return "INVALID_INPUT";
    case ErrorCode::kUnsupported: return "UNSUPPORTED";
    case ErrorCode::kInternal: return "INTERNAL";
  }
  return "INTERNAL";
}

}  // namespace cci
