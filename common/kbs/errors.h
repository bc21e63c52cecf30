// A KBS error answer: RFC 7807 problem details as trustee writes them (kbs/src/error.rs),
// {"type": "https://github.com/confidential-containers/kbs/errors/<Variant>", "detail": "…"}.
// Trustee answers 404 only for InvalidRequestPath and PluginNotFound and 401 for everything else,
// PolicyDeny included, so a client tells "denied by policy" (report at once, never retry) from
// "session gone" (attest again) by the variant, not the status.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace cci::kbs {

inline constexpr char kErrorTypePrefix[] = "https://github.com/confidential-containers/kbs/errors/";

struct KbsError {
  int status = 0;
  std::string variant;  // "PolicyDeny", "TokenNotFound", ...; "" when the body was no problem document
  std::string detail;
  bool policy_deny() const { return variant == "PolicyDeny"; }
  // A fresh RCAR handshake may help (the session or token expired, or was never made).
  bool reattest() const { return variant == "TokenNotFound" || variant == "TokenVerifierError"; }
  std::string message() const;  // "KBS 401 PolicyDeny: Access denied by policy"
};

// The error of an answer with `status` (400-599). A body that is not trustee's problem document
// is kept as the detail (cut to 200 bytes) with an empty variant.
KbsError parse_error_body(int status, std::string_view body);

}  // namespace cci::kbs
