// The CC event log of a CSV3 guest (CCEL, TCG2 "crypto agile" format, read by common/eventlog; TCG PC Client Platform Firmware Profile §10): a
// TCG_PCR_EVENT carrying the Spec ID Event03 (the digest sizes), then TCG_PCR_EVENT2 records.
// Replaying it extends RTMR[index] = SM3(RTMR[index] || digest) from 32 zero bytes, as trustee
// does; EV_NO_ACTION events are not extended. The log ends at the end of the input or at
// padding (an index of 0xFFFFFFFF, or an all-zero header).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace cci::csv {

inline constexpr std::uint16_t kTpmAlgSm3 = 0x0012;

struct LogEvent {
  std::uint32_t index = 0;  // RTMR index
  std::uint32_t type = 0;
  Bytes sm3;                // the SM3 digest (empty for EV_NO_ACTION)
  Bytes data;
};

Result<std::vector<LogEvent>> parse_event_log(ByteView log);

using Rtmrs = std::array<std::array<std::uint8_t, 32>, 5>;
// Fails when an extended event names an RTMR beyond 4.
Result<Rtmrs> replay_rtmrs(const std::vector<LogEvent>& events);

}  // namespace cci::csv
