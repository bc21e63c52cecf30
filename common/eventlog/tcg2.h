// TCG2 "crypto agile" event logs (TCG PC Client Platform Firmware Profile, "Event Logging"; the
// UEFI CC event log of confidential guests): a TCG_PCR_EVENT carrying the Spec ID Event03 (the
// digest algorithms and their sizes), then TCG_PCR_EVENT2 records {index, type, digests, data}.
// The log ends at the end of the input or at padding (an index of 0xFFFFFFFF, or an all-zero
// header): ACPI tables reserve more than the log uses.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/digest.h"

namespace cci::eventlog {

inline constexpr std::uint16_t kTpmAlgSha256 = 0x000B;
inline constexpr std::uint16_t kTpmAlgSha384 = 0x000C;
inline constexpr std::uint16_t kTpmAlgSm3 = 0x0012;
inline constexpr std::uint32_t kEvNoAction = 3;

struct Event {
  std::uint32_t index = 0;                 // the register the event extends
  std::uint32_t type = 0;
  std::map<std::uint16_t, Bytes> digests;  // by TPM algorithm ID
  Bytes data;
};

// kMalformed (field "event log") for anything that is not such a log: no Spec ID event, a digest
// of an algorithm it does not list, sizes running past the end, more than 65536 events.
Result<std::vector<Event>> parse_tcg2_log(ByteView log);

// Replays the events' `alg` digests: R[i] = H(R[i] || digest) from zeros, for the registers
// first_index .. first_index + count - 1 (R[index - first_index]); EV_NO_ACTION events are not
// extended. An extended event without an `alg` digest, or naming another register, fails.
Result<std::vector<Bytes>> replay(const std::vector<Event>& events, std::uint16_t alg, crypto::DigestAlg h, std::uint32_t first_index, size_t count);

}  // namespace cci::eventlog
