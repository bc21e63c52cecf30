// A CC event log (TCG2 crypto-agile, the UEFI CCEL of a TDX guest) described for humans and
// scripts: every event with its register, type name (TCG PC Client Platform Firmware Profile,
// "Event Types"), digests, data and the text it carries where the spec gives it one, and the
// registers the log replays to. Decoding only: nothing is verified here.
#pragma once

#include <optional>

#include "appraise/appraise.h"
#include "base/bytes.h"
#include "base/result.h"
#include "tdx/quote.h"

namespace cci::appraise {

// "EV_EFI_ACTION", …; "EV_UNKNOWN_0x…" for types the spec does not name.
std::string tcg_event_type_name(std::uint32_t type);

// {"events": [{"index", "register", "type", "type_name", "digests": [{"alg", "digest"}],
//   "data" (base64), "data_size", "digest_matches_data", "text"?}], "replayed": {"rtmr0".."rtmr3"}}
// For a TDX log (SHA-384; CC MR index 1..4 = RTMR0..3, UEFI spec "EFI_CC_MEASUREMENT_PROTOCOL")
// the replayed RTMRs are given, and with `quote_rtmrs` whether each equals the quote's.
// kMalformed (field "event log") when the input is not such a log.
Result<Json> describe_event_log(ByteView log, const std::optional<std::array<tdx::Hash48, 4>>& quote_rtmrs);

}  // namespace cci::appraise
